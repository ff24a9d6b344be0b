# The two set-up commands of the README: `make demo` and `make test`.
.PHONY: venv demo test lint bench

venv:
	@bash scripts/bootstrap.sh

demo: venv
	.venv/bin/yidi serve --demo

test: venv
	.venv/bin/ruff check .
	.venv/bin/mypy api config venues experts scheduler ledger notify av_monitor
	.venv/bin/python -m pytest -q

lint: venv
	.venv/bin/ruff check .
	.venv/bin/mypy api config venues experts scheduler ledger notify av_monitor

bench: venv
	.venv/bin/python benchmarks/bench_draw.py
	.venv/bin/python -m benchmarks.bench_fairness
	.venv/bin/python benchmarks/bench_import.py
	.venv/bin/python benchmarks/bench_service.py
	.venv/bin/python benchmarks/bench_face.py
	.venv/bin/python benchmarks/bench_liveness.py
	.venv/bin/python benchmarks/bench_recorder.py
