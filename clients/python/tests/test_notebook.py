"""The example notebook runs headless against the real server, every cell without error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import MODELS

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "demo.ipynb"


def test_the_example_notebook_executes(server, cohort, tmp_path):
    env = dict(os.environ, EXPLAINME_ADDRESS=server, EXPLAINME_COHORT=str(cohort),
               EXPLAINME_MODELS=str(MODELS))
    subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute",
         "--ExecutePreprocessor.timeout=900", "--output-dir", str(tmp_path), str(NOTEBOOK)],
        check=True, env=env,
    )
    executed = json.loads((tmp_path / NOTEBOOK.name).read_text())
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    # The explanations, the summary report and the pictures are in the executed notebook.
    text = json.dumps(outputs)
    assert "The CNN calls this lesion" in text
    assert "image/png" in text
    assert "<!DOCTYPE html>" in text
