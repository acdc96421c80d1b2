"""The Textual workbench. Imports textual only: TensorFlow loads in a worker after the first frame.

Frames: Textual draws a frame when something changed, at most ``TEXTUAL_FPS`` a second (60 unless
set), and a frame asked for within a period of the last one waits for the next period (one or two
of them: 17–33 ms at 60).  While a run is followed its progress and charts draw a few frames a
second, so a key press landing after one of them waited up to 33 ms before its own frame (the
p95 of a key press while training was 33–38 ms, of which 20–30 ms this wait).  kerastui caps at 500
frames a second instead (2–4 ms): frames are still drawn only when something changed (nothing
animates), so a terminal over SSH receives no more of them unless the screen changes faster.  (At
240 the footer and tabs, repainted in the frame after a key's, followed it by 4–8 ms: key → all it
changed p95 19.4 ms while a run was followed, 12.9 ms at 500; the frames a followed run draws
were the same, 96 for 30 epochs.)  ``TEXTUAL_FPS`` set by the user wins.  Set here, before anything
of kerastui's imports textual.
"""

import os

os.environ.setdefault("TEXTUAL_FPS", "500")
