# Thermograd: two commands do all set-up on a fresh Debian machine.
#   make demo   build release and run the main job on real data
#   make test   run the test suite
# Both install missing system packages first (scripts/install-deps.sh).

SWIFT ?= swift
RELEASE_BIN = .build/release/thermograd

.PHONY: deps build test demo bench-compare bench-lora fuzz clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product thermograd

# Tests run in release (statistical device tests and training loops are too slow in debug) with one
# OpenBLAS thread per test process: Swift Testing already runs tests in parallel.
test: deps
	OPENBLAS_NUM_THREADS=1 $(SWIFT) test -c release

# The demo is the main comparison: Adam vs digital K-FAC vs TK-FAC (K-FAC whose factor inverses come from
# simulated thermodynamic devices with 8-bit conservative DAC and 8-bit ADC, Method 1) on the Fashion-MNIST
# MLP 784-128-10, same data order and initial weights, 300 steps of batch 128: a few minutes on 2 cores.
# It prints the settings, a table (final test accuracy, device time per step, update error against digital
# K-FAC) and writes runs/demo/compare.{csv,svg}. `thermograd train` (any optimiser) is the single-run tool.
# K-FAC damping λ = 0.1 for both K-FAC arms: at the default 0.01 digital K-FAC is under-damped on this MLP
# (3 seeds: 84.73 % vs 86.41 % at λ = 0.1), which made TK-FAC look better than its own reference.
demo: build
	$(RELEASE_BIN) experiment compare --steps 300 --eval-every 50 --dac-bits 8 --adc-bits 8 --kfac-damping 0.1 --out runs/demo

# Times one training step (batch 256, Adam, 2 threads; mean over the timed steps) in Thermograd and in PyTorch (CPU wheel,
# float32, eager; installed from the machine's PyPI mirror when missing), BENCH_ROUNDS alternating rounds, and prints every
# round and the median ratio with its range and the load averages (bench/compare_rounds.py; docs/performance.md). The ViT's
# reference is bench/pytorch_vit_reference.py (the same default ViT: 7×7 patches, width 64, 4 blocks, 4 heads), the GNN's
# bench/pytorch_gnn_reference.py (the registered GIN on the same formula batch of molecule-like graphs, docs/gnn.md#step-time).
BENCH_MODELS ?= mlp cnn vit gnn
BENCH_ROUNDS ?= 3
bench-compare: build
	@python3 -c "import torch" 2>/dev/null || python3 -m pip install torch==2.13.0
	@python3 bench/compare_rounds.py --binary $(RELEASE_BIN) --models $(BENCH_MODELS) --rounds $(BENCH_ROUNDS) --batch 256 --optimizer adam --threads 2

# The LoRA training step on MiniLM-L6 (docs/lora.md#speed) at batch 32 x 128 tokens, Thermograd vs PyTorch eager
# at the same thread count (LORA_THREADS, default 2), with each side's peak resident memory. Slow (seconds
# per step), so not part of bench-compare.
LORA_THREADS ?= 2
bench-lora: build
	@python3 -c "import torch" 2>/dev/null || python3 -m pip install torch==2.13.0
	@OPENBLAS_NUM_THREADS=$(LORA_THREADS) $(RELEASE_BIN) bench train-step --model minilm-lora --batch 32 --threads $(LORA_THREADS) --repeats 10 --seconds 1 > .bench-lora-swift.json && \
	python3 bench/pytorch_minilm_lora_reference.py --batch 32 --length 128 --threads $(LORA_THREADS) --seconds 1 > .bench-lora-torch.json && \
	python3 -c "import json,sys; s=json.load(open(sys.argv[1])); t=json.load(open(sys.argv[2])); \
	print(f\"minilm-lora batch 32 x 128, adam, {s['threads']} threads: thermograd {s['meanSeconds']:.2f} s ({s['peakResidentBytes']/1e9:.2f} GB peak)   pytorch {t['torch']} {t['meanSeconds']:.2f} s ({t['peakResidentBytes']/1e9:.2f} GB peak)   ratio {s['meanSeconds']/t['meanSeconds']:.2f} (means)\")" \
	.bench-lora-swift.json .bench-lora-torch.json; rm -f .bench-lora-swift.json .bench-lora-torch.json

# libFuzzer on every input parser (fuzz/README.md): builds fuzz/ with -sanitize=fuzzer,address and runs each
# target for FUZZ_SECONDS (default 60 s each), seeded from fuzz/corpus/<target>; the growing corpus is kept in
# .build-fuzz/corpus, a crasher is written to fuzz/crashes/<target>-crash-<hash> and stops the run with an error.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= FuzzIDX FuzzSafetensors FuzzWorkload FuzzRunCSV FuzzCheckpointSettings FuzzSMILES FuzzWordPiece
fuzz: deps
	cd fuzz && $(SWIFT) build -c release --build-path ../.build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	@bash fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf .build .build-fuzz

# docs/results.md: the short versions of every experiment on that page, one target each (outputs under
# runs/reproduce, figures copied to docs/results/). About 2 h 30 min of CPU (≈ 4–6 h of wall on the shared 2-core
# machine at load 6–8); the longest are the TNGD runs of 2, 5 and 10 epochs (reproduce-tngd-mnist, ≈ 30 min of CPU;
# reproduce-tngd-mnist-10epochs, ≈ 85 min)
# and the mitigation sweeps (their ensemble arms simulate 4 devices per factor).
REPRO ?= runs/reproduce
.PHONY: reproduce reproduce-predict reproduce-mitigation reproduce-methods-width reproduce-quantization reproduce-tngd reproduce-tngd-mnist reproduce-tngd-mnist-10epochs reproduce-runtime reproduce-plots
reproduce: reproduce-predict reproduce-methods-width reproduce-plots reproduce-mitigation reproduce-quantization reproduce-tngd reproduce-tngd-mnist reproduce-tngd-mnist-10epochs reproduce-runtime

reproduce-predict: build
	$(RELEASE_BIN) predict --workload width-sweep --digital a100 --out $(REPRO)/width-sweep
	$(RELEASE_BIN) predict --workload vit-s16 --digital a100
	$(RELEASE_BIN) predict --workload ogbg-gnn --digital a100
	cp $(REPRO)/width-sweep/width-sweep.svg docs/results/

reproduce-methods-width: build
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment methods-width --widths 64 128 256 512 --out $(REPRO)/methods-width
	cp $(REPRO)/methods-width/methods-width.svg docs/results/

reproduce-mitigation: build
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment mitigation --steps 300 --eval-every 50 --test-subset 0 --seeds 1 --threads 1 --out $(REPRO)/mitigation
	cp $(REPRO)/mitigation/mitigation-output-4-bits.svg $(REPRO)/mitigation/mitigation-summary.svg docs/results/
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment mitigation --steps 300 --eval-every 50 --test-subset 0 --seeds 1 2 3 \
	  --dac-bits-sweep 4 --adc-bits-sweep 4 --threads 1 --out $(REPRO)/mitigation-4bit
	$(RELEASE_BIN) experiment plot $(REPRO)/mitigation-4bit/mitigation.csv --out docs/results/mitigation-4bit-3seeds.svg \
	  --title "experiment mitigation --steps 300 --eval-every 50 --test-subset 0 --seeds 1 2 3 --dac-bits-sweep 4 --adc-bits-sweep 4 --threads 1"
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment mitigation --steps 300 --eval-every 50 --test-subset 0 --seeds 1 2 3 \
	  --dac-bits-sweep 8 --adc-bits-sweep 8 --threads 1 --out $(REPRO)/mitigation-8bit
	cp $(REPRO)/mitigation-8bit/mitigation.svg docs/results/mitigation-8bit-3seeds.svg

reproduce-quantization: build
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment quantization --full --seeds 1 2 3 --steps 300 --eval-every 50 --test-subset 0 \
	  --threads 1 --out $(REPRO)/quantization
	cp $(REPRO)/quantization/quantization.svg docs/results/quantization-3seeds.svg
	cp $(REPRO)/quantization/quantization.csv docs/results/quantization-3seeds.csv
	cp $(REPRO)/quantization/quantization-input-8-bits.svg $(REPRO)/quantization/quantization-output-4-bits.svg docs/results/

# The runs kept as CSV fixtures (3 seeds each, made by the commands recorded in Sources/Predictions/step-ratios.json), plotted without training.
reproduce-plots: build
	$(RELEASE_BIN) experiment plot Tests/PredictionsTests/Fixtures/step-ratios-compare-method1.csv --out docs/results/compare-method1.svg \
	  --title "experiment compare --steps 400 --seeds 1 2 3 --kfac-damping 0.1 --dac-bits 8 --adc-bits 8 --method 1"
	$(RELEASE_BIN) experiment plot Tests/PredictionsTests/Fixtures/step-ratios-compare-method2.csv --out docs/results/compare-method2.svg \
	  --title "experiment compare --steps 400 --seeds 1 2 3 --kfac-damping 0.1 --dac-bits 8 --adc-bits 8 --method 2"
	$(RELEASE_BIN) experiment plot Tests/PredictionsTests/Fixtures/step-ratios-tngd-mnist.csv --out docs/results/tngd-mnist.svg \
	  --title "experiment tngd-mnist --baselines --steps 400 --seeds 1 2 3"

reproduce-tngd: build
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment tngd-time --no-exact --steps 100 --seeds 1 --out $(REPRO)/tngd-time
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment tngd-delay --steps 100 --seeds 1 --out $(REPRO)/tngd-delay
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment tngd-noise --steps 100 --seeds 1 --out $(REPRO)/tngd-noise
	cp $(REPRO)/tngd-time/*.svg $(REPRO)/tngd-delay/*.svg $(REPRO)/tngd-noise/*.svg docs/results/
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment tngd-noise --tngd-loss sum --noises 0.1 0.01 0.001 0.000001 --steps 400 \
	  --seeds 1 2 3 --threads 1 --out $(REPRO)/tngd-noise-sum
	cp $(REPRO)/tngd-noise-sum/tngd-noise.svg docs/results/tngd-noise-sum.svg

# The TNGD paper's MNIST comparison at longer run lengths (938 steps of 64 per epoch): Adam, TNGD, TNGD-Adam and
# NGD-CG at 2 epochs × 5 seeds (≈ 18 min of CPU; NGD-CG ≈ 40 s per seed), Adam, TNGD, TNGD-Adam at 5 epochs × seed 1.
reproduce-tngd-mnist: build
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment tngd-mnist --tngd-adam --arms adam tngd ngd-cg --steps 1876 --eval-every 469 \
	  --test-subset 0 --seeds 1 2 3 4 5 --out $(REPRO)/tngd-mnist-2epochs
	$(RELEASE_BIN) experiment plot $(REPRO)/tngd-mnist-2epochs/tngd-mnist.csv --out docs/results/tngd-mnist-2epochs.svg \
	  --title "experiment tngd-mnist --tngd-adam --arms adam tngd ngd-cg --steps 1876 --eval-every 469 --test-subset 0 --seeds 1 2 3 4 5"
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment tngd-mnist --tngd-adam --steps 4690 --eval-every 134 --test-subset 0 \
	  --seeds 1 --out $(REPRO)/tngd-mnist-5epochs
	cp $(REPRO)/tngd-mnist-5epochs/tngd-mnist-runtime.svg docs/results/tngd-mnist-5epochs.svg

# The paper's run length, 10 epochs (9380 steps), Adam, TNGD, TNGD-Adam and NGD-CG, the paper's 5 seeds as on the page
# (≈ 85 min of CPU, one seed after the other: Adam ≈ 1, TNGD ≈ 7, TNGD-Adam ≈ 7, NGD-CG ≈ 3 min per seed; SEEDS10="1 2 3" for
# a shorter check). The page made Adam and TNGD in one run per seed, TNGD-Adam and NGD-CG alone (--arms) later:
# each arm's numbers depend only on its settings and the seed, so this one command gives the same CSV rows.
SEEDS10 ?= 1 2 3 4 5
reproduce-tngd-mnist-10epochs: build
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment tngd-mnist --tngd-adam --arms adam tngd ngd-cg --steps 9380 --eval-every 469 \
	  --test-subset 0 --threads 1 --seeds $(SEEDS10) --out $(REPRO)/tngd-mnist-10epochs
	$(RELEASE_BIN) experiment plot $(REPRO)/tngd-mnist-10epochs/tngd-mnist.csv --out docs/results/tngd-mnist-10epochs.svg \
	  --title "experiment tngd-mnist --tngd-adam --arms adam tngd ngd-cg --steps 9380 --eval-every 469 --test-subset 0 --threads 1 --seeds $(SEEDS10)"

reproduce-runtime: build
	OPENBLAS_NUM_THREADS=1 $(RELEASE_BIN) experiment runtime --repeats 5 --threads 1 --out $(REPRO)/runtime
	cp $(REPRO)/runtime/runtime.svg $(REPRO)/runtime/runtime.csv docs/results/
