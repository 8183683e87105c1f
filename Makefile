# The two front-door commands: `make demo` (set up, then digitize the bundled samples) and `make test`.
.PHONY: setup demo test bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/digitize --input samples --output out/samples

# two test processes, a file each at a time: most tests wait on process starts, and the machine has two
# cores. The Ray Train tests then run alone: beside the others they save little, and Ray Train gives a
# training worker group 60 s to start
TRAIN_TESTS = tests/test_recognizer_training.py tests/test_ppocr_tuning.py
test: setup
	.venv/bin/python -m pytest -q -n 2 --dist loadfile tests $(addprefix --ignore=,$(TRAIN_TESTS))
	.venv/bin/python -m pytest -q $(TRAIN_TESTS)

bench: setup
	.venv/bin/python bench/run_all.py
