# profile360 — the commands a developer and CI use. See README.md.
PYTHON ?= python3
STATE  := .devstack
API    ?= 127.0.0.1:8080
export API_BIND := $(API)

.PHONY: system-deps install test unit integration wheel-check run down bench soak clean

system-deps:  ## Java, Maven, PostgreSQL, curl and Chromium (the console's browser tests) from Debian's packages, when missing (needs root)
	@missing=""; \
	 command -v curl >/dev/null 2>&1 || missing="$$missing curl ca-certificates"; \
	 command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	 command -v mvn >/dev/null 2>&1 || missing="$$missing maven"; \
	 ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	 command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	 command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	 if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -q && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; fi

install:  ## Python dependencies (project + tests), editable
	$(PYTHON) -m pip install -q -e '.[test]'

# Tests that mostly wait (outages, restarts and pauses of their own broker and database, group
# rebalances, processes killed and started again) run as a second pytest session beside the
# rest, on services of its own: `make test` takes about the time of the longer session rather
# than the sum of both. Its output is printed at the end.
SIDE_TESTS := $(addprefix tests/integration/,test_fault_suite.py test_outages.py test_faults.py test_worker_process.py \
                test_rebuild.py test_erasure.py test_dlq_cli.py test_keeper.py test_docs_examples.py)

# Tests that compare latencies measured in their own run go last, alone: the other session's load
# would land in one of the compared figures and not the other (seen: the fairness test failed so).
ALONE_TESTS := tests/integration/test_rate_limits.py

test: system-deps install  ## the whole suite: unit + integration on a real Kafka and PostgreSQL
	@$(PYTHON) -m pytest -q -p no:cacheprovider --durations=10 $(SIDE_TESTS) > .side-tests.log 2>&1 & side=$$!; \
	 $(PYTHON) -m pytest -q --durations=25 $(addprefix --ignore=,$(SIDE_TESTS) $(ALONE_TESTS)); main=$$?; \
	 wait $$side; rc=$$?; echo "--- the second session: $(SIDE_TESTS) ---"; cat .side-tests.log; \
	 echo "--- alone: $(ALONE_TESTS) ---"; $(PYTHON) -m pytest -q -p no:cacheprovider $(ALONE_TESTS); alone=$$?; \
	 echo "main session: exit $$main; second session: exit $$rc; alone: exit $$alone"; \
	 [ $$main -eq 0 ] && [ $$rc -eq 0 ] && [ $$alone -eq 0 ]

unit: install
	$(PYTHON) -m pytest -q tests/unit

integration: install
	$(PYTHON) -m pytest -q tests/integration

wheel-check: system-deps install  ## build the wheel, install it in a fresh venv, run it outside the checkout (part of `make test`)
	$(PYTHON) -m pytest -q tests/integration/test_wheel.py

run: system-deps install  ## local stack + migrate + worker + API + demo data, then prints example calls
	$(PYTHON) -m profile360 devstack up
	$(PYTHON) -m profile360 migrate
	@mkdir -p $(STATE)
	@$(PYTHON) -m profile360 devstack status >/dev/null
	@if [ -f $(STATE)/worker.pid ] && kill -0 $$(cat $(STATE)/worker.pid) 2>/dev/null; then echo "worker already running"; \
	 else nohup $(PYTHON) -m profile360 keep worker > $(STATE)/worker.log 2>&1 & echo $$! > $(STATE)/worker.pid; fi
	@if [ -f $(STATE)/api.pid ] && kill -0 $$(cat $(STATE)/api.pid) 2>/dev/null; then echo "api already running"; \
	 else nohup $(PYTHON) -m profile360 keep api > $(STATE)/api.log 2>&1 & echo $$! > $(STATE)/api.pid; fi
	$(PYTHON) -m profile360 demo --tenant demo
	@if [ ! -s $(STATE)/demo.key ]; then $(PYTHON) -m profile360 keys create --tenant demo --role admin --name make-run > $(STATE)/demo.key; fi
	@$(PYTHON) -m profile360.cli.wait_http http://$(API)/readyz 30
	@KEY=$$(cat $(STATE)/demo.key); A="Authorization: Bearer $$KEY"; echo ""; \
	 echo "profile360 is running (logs in $(STATE)/*.log; stop with: make down)."; \
	 echo ""; echo "  Console:  http://$(API)/console   (sign in with the demo key: $$KEY)"; \
	 echo "  API docs: http://$(API)/docs"; echo ""; \
	 echo "The demo tenant's admin key is in $(STATE)/demo.key (profile360 keys create|list|revoke for more). Try:"; \
	 echo "  curl -s -H '$$A' 'http://$(API)/api/v1/interaction-history?limit=3'"; \
	 echo "  curl -s -H '$$A' 'http://$(API)/api/v1/interaction-history?customerId=CUST007&type=click'"; \
	 echo "  curl -s -H '$$A' 'http://$(API)/api/v1/interaction-summary?groupBy=action&days=30'"; \
	 echo "  curl -s -H '$$A' 'http://$(API)/api/v1/interaction-summary?groupBy=customer&days=7'"; \
	 echo "  curl -s -H '$$A' 'http://$(API)/api/v1/customers/CUST012/unified-profile'"; \
	 echo "  curl -s -H '$$A' 'http://$(API)/api/v1/customers/email:jane.doe@example.com/unified-profile?sections=identities,attributes,segments'"; \
	 echo "  curl -s -H '$$A' 'http://$(API)/api/v1/segments'"; \
	 echo "  curl -s -H '$$A' 'http://$(API)/en/api/customer360'"; \
	 echo "  curl -s 'http://$(API)/readyz'"

down:  ## stop API, worker and the local stack (data is kept in .devstack/)
	@# SIGTERM to each keeper, which stops its command (the API drains, the worker commits); wait up to 60 s each
	@for p in api worker; do if [ -f $(STATE)/$$p.pid ]; then pid=$$(cat $(STATE)/$$p.pid); kill $$pid 2>/dev/null || true; \
	   for i in $$(seq 300); do kill -0 $$pid 2>/dev/null || break; sleep 0.2; done; rm -f $(STATE)/$$p.pid; fi; done
	$(PYTHON) -m profile360 devstack down

bench: system-deps install  ## end-to-end and raw-limit figures (and Faust's, for comparison); see BENCHMARKS.md
	$(PYTHON) -m pip install -q -e '.[test,bench]'
	$(PYTHON) -m bench $(BENCH_ARGS)

soak: system-deps install  ## the long fault run (1M events, kills, restarts, rebalance, rebuild), then the fault suite with 5-min faults; prints summary tables
	P360_SOAK_REPORT=$${P360_SOAK_REPORT:-soak-report.md} $(PYTHON) -m pytest -q -s tests/integration/soak_faults.py

clean: down
	rm -rf $(STATE)
