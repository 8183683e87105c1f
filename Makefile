# The two front-door commands: `make demo` (set up, then digitize the bundled samples) and `make test`.
.PHONY: setup demo test bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/digitize --input samples --output out/samples

# two test processes, a file each at a time: most tests wait on process starts, and the machine has two cores
test: setup
	.venv/bin/python -m pytest -q -n 2 --dist loadfile tests

bench: setup
	.venv/bin/python bench/run_all.py
