.PHONY: run test lint

# Web + Celery worker + beat with demo data (SQLite and a filesystem broker unless DATABASE_URL / REDIS_URL are set).
run:
	./scripts/run.sh

# The test suite against real PostgreSQL and Redis; extra pytest arguments via ARGS="...".
test:
	./scripts/test.sh $(ARGS)

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
