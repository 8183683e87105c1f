# The two front-door commands: `make demo` (set up, then digitize the bundled samples) and `make test`.
.PHONY: setup demo test bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/digitize --input samples --output out/samples

test: setup
	.venv/bin/python -m pytest -q tests

bench: setup
	.venv/bin/python bench/run_all.py
