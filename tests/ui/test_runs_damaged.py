"""The Runs workspace lists a damaged run with its reason and every other run (issue 24)."""

from __future__ import annotations

import json

from kerastui.ui.app import make_app
from kerastui.ui.screens.runs import RunTable
from tests.ui.helpers import settle, started
from tests.ui.test_charts_runs import fake_runs


async def test_a_damaged_run_is_listed_as_damaged_beside_the_others(tmp_path):
    paths = fake_runs(tmp_path / "runs")
    status = json.loads((paths[0] / "status.json").read_text())
    status["gpus"] = 5
    (paths[0] / "status.json").write_text(json.dumps(status))
    (paths[1] / "metrics.jsonl").write_text("garbage\n{\"epoch\": 2}\n")
    app = make_app("ex1", deterministic=True, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        screen = app.screen
        table = screen.query_one(RunTable)
        assert table.row_count == 3
        states = {run.name: (str(run.status), run.error) for run in screen.shown}
        assert states[paths[0].name] == ("damaged", "status.json: 'gpus' is not a list")
        assert states[paths[1].name] == ("damaged", "metrics.jsonl line 1 not JSON")
        assert states[paths[2].name][0] == "completed"
        cells = [str(table.get_row_at(i)[1]) for i in range(3)]
        assert cells.count("damaged") == 2
