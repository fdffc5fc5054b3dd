"""The masked-LM example runs unchanged under torchrun with 2 CPU processes (DDP over gloo)."""

import json
import os
import re
import subprocess
import sys

from tests.conftest import REPO_ROOT
from tests.test_bert_training import CORPUS


def test_run_mlm_under_torchrun_two_processes(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS * 4) + "\n")
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(REPO_ROOT / "examples" / "run_mlm.py"),
        "--preset", "bert-tiny", "--train_file", str(corpus), "--output_dir", str(out), "--vocab_size", "150",
        "--max_seq_length", "32", "--max_steps", "12", "--batch_size", "8", "--learning_rate", "3e-3",
        "--warmup_steps", "0", "--logging_steps", "2", "--eval_fraction", "0.1", "--time_budget_minutes", "0",
    ]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    # both ranks print their verdict (their lines may interleave in the captured output)
    verdicts = re.findall(r"\[rank (\d)\] parameter checksum (\S+); identical on all 2 ranks: (True|False)", output)
    assert sorted(rank for rank, _, _ in verdicts) == ["0", "1"], output[-3000:]
    assert all(identical == "True" for _, _, identical in verdicts)
    assert verdicts[0][1] == verdicts[1][1]
    state = json.loads((out / "trainer_state.json").read_text())
    losses = [entry["loss"] for entry in state["log_history"] if "loss" in entry]
    assert len(losses) >= 2 and losses[-1] < losses[0], losses
    assert (out / "model.safetensors").is_file()
