PY ?= python

.PHONY: test figures bench lint

test:
	$(PY) -m pytest -m "not slow" -q

figures:
	neurotp figures all

bench:
	neurotp bench engines --brian2
	neurotp bench algorithms

lint:
	ruff check .
