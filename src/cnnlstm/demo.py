"""The demo (``cnnlstm demo``, ``make demo``): train and test every demo preset, then one table.

Each preset runs ``fit`` then ``test`` on its best checkpoint, in ``<out>/<preset>/``; the summary
goes to ``<out>/summary.md`` and ``<out>/summary.json``, and each run folder keeps its plots.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from cnnlstm import __version__

# (preset, extra arguments): later presets join here.
DEMO_RUNS: list[tuple[str, list[str]]] = [
    ("synthetic-tiny", []),
    ("synthetic-seed", []),
    ("synthetic-convlstm", []),
]
QUICK_ARGS = ["--trainer.max_epochs=1", "--data.num_train=64", "--data.num_val=32", "--data.num_test=32"]
COLUMNS = ("preset", "model", "params", "epochs", "fit s", "val acc", "test acc", "test macro-F1", "plots")


def _row(preset: str, summary: dict) -> dict:
    test = summary.get("test_metrics", {})
    fit = summary.get("fit_metrics", {})
    return {
        "preset": preset,
        "model": summary.get("model", ""),
        "params": summary.get("parameters", 0),
        "epochs": summary.get("epochs", 0),
        "fit s": summary.get("fit_wall_time_s", 0.0),
        "val acc": fit.get("val/acc"),
        "test acc": test.get("test/acc"),
        "test macro-F1": test.get("test/f1_macro"),
        "plots": ", ".join(summary.get("plots", []) + (["confusion_test.png"] if "test_confusion_matrix" in summary else [])),
    }


def to_markdown(rows: list[dict]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.3f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(cell(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from cnnlstm.cli import list_presets
    from cnnlstm.cli import main as cli_main

    parser = argparse.ArgumentParser(prog="cnnlstm demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="folder for the runs and the summary")
    parser.add_argument("--only", nargs="*", default=None, help="run only these presets")
    parser.add_argument("--quick", action="store_true", help="1 epoch on 64 clips: a smoke test, not a result")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    runs = [(p, extra) for p, extra in DEMO_RUNS if args.only is None or p in args.only]
    unknown = set(args.only or []) - {p for p, _ in DEMO_RUNS}
    if unknown:
        parser.error(f"--only names no demo preset: {sorted(unknown)}; demo presets: {[p for p, _ in DEMO_RUNS]}")
    missing = [p for p, _ in runs if p not in list_presets()]
    if missing:
        raise RuntimeError(f"demo presets missing from the package: {missing}")

    print(f"cnnlstm {__version__} demo | torch {torch.__version__} | {torch.get_num_threads()} CPU threads")
    rows = []
    started = time.perf_counter()
    for i, (preset, extra) in enumerate(runs, 1):
        root = args.out / preset
        if root.exists():
            shutil.rmtree(root)  # a demo run starts clean
        common = ["--config", preset, f"--trainer.default_root_dir={root}", *extra]
        if args.quick:
            common += QUICK_ARGS
        if args.quiet:
            common.append("--quiet")
        print(f"\n[{i}/{len(runs)}] {preset}: fit, then test on the best checkpoint", flush=True)
        for command in (["fit"], ["test", "--ckpt_path", "best"]):
            code = cli_main([*command, *common])
            if code != 0:
                print(f"demo: `cnnlstm {command[0]}` failed for {preset} (exit {code})")
                return code
        rows.append(_row(preset, json.loads((root / "summary.json").read_text())))

    table = to_markdown(rows)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    header = (
        f"# cnnlstm demo\n\ncnnlstm {__version__}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
        f"{', quick mode (1 epoch, 64 clips)' if args.quick else ''}; total {time.perf_counter() - started:.0f} s. "
        "Each row: `cnnlstm fit --config PRESET` then `cnnlstm test --ckpt_path best`; plots are in "
        "`<preset>/` beside this file.\n\n"
    )
    (args.out / "summary.md").write_text(header + table + "\n")
    (args.out / "summary.json").write_text(json.dumps({"quick": args.quick, "rows": rows}, indent=2) + "\n")
    print(f"\nResults: {args.out / 'summary.md'}, {args.out / 'summary.json'}, plots in {args.out}/<preset>/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
