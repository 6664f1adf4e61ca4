#!/usr/bin/env bash
# The whole study, unattended: every notebook executed by papermill, outputs in results/ and figures/.
#
#   SYNTHLIB_DATA=../shared/data ./run_all.sh
#
# Sets up .venv when needed. For each registered protocol (`python -m synthlib protocols list`;
# synthlib/protocols.py), or those named in PROTOCOLS with every protocol they take results from
# (`python -m synthlib protocols order`: sound takes paper's tuned full-training setting, so paper
# runs first), and dataset: 03_tuning (when the protocol chooses its settings on
# validation data), then 04_experiment (every column x seed [x setting], baselines included; one
# line per finished run). Then 05_results builds results/<protocol>/table1.{csv,md} and
# figures/<protocol>_table1.png, and 06_verdict judges the paper's claims under every protocol that
# has records, naming those that have none (results/verdict*.md, figures/protocols.png). Then the
# learning curves (synthlib/learning_curves.py, on the datasets sound has tuned) and
# 07_learning_curves (results/learning_curves/, figures/learning_curves.png). Executed notebooks go
# to results/notebooks/; the wall time, with the machine's matmul ceiling measured at the start, each
# step's seconds and peak memory, the learning curves' time and the study's phase table (GFLOP and fraction
# of the ceiling per phase), to results/study_timing.json.
# A dataset that cannot be had (SVHN offline) is skipped with the reason. Finished run records are
# reused, so an interrupted run picks up where it stopped. Exit status 1 if anything failed.
#
# Records name the commit of the code that made them, so writing into the repository's own
# results/ needs a clean tree (commit first); a scratch RESULTS_DIR outside results/ takes any tree.
#
# Settings (environment variables):
#   SYNTHLIB_DATA     dataset folder (default: the repository's data/; torchvision downloads land there)
#   DATASETS          default "mnist cifar10 svhn"
#   PROTOCOLS         default: every registered protocol; the protocols named run after those they
#                     take results from (python -m synthlib protocols order NAME...)
#   BASELINES         fixed-feature baselines, default: each protocol's own ("" for none)
#   SEEDS             evaluation seeds, YAML list, default: each protocol's own
#   DEVICE            auto | cpu | cuda, default auto
#   RESULTS_DIR       default results;  FIGURES_DIR  default figures (or $RESULTS_DIR/figures when
#                     RESULTS_DIR is set)
#   TUNING_PARAMS     optional YAML file of extra parameters for 03_tuning (e.g. a smaller grid)
#   SKIP_EXPLORATION  1 to skip notebooks 01 and 02 (distributions and kernels)
#   CURVES_GRID       the learning curves' grid: cpu (default; trained columns stop at smaller sizes), full
#                     (every column at every size: a GPU, DEVICE=cuda) or none
#   LAUNCHER          where 04_experiment's runs and the learning curves execute: inprocess (default), local
#                     (processes on this machine) or slurm (a Slurm job array), the last two through submitit
#                     (synthlib/launch.py; docs/beyond_one_machine.md). For local and slurm: SLURM_GPUS (GPUs
#                     per task, default 1 with DEVICE=cuda, else 0), SLURM_TIME_MIN (per task, default 120),
#                     SLURM_ARRAY_PARALLELISM (tasks at once, default 32); for slurm: SLURM_PARTITION and
#                     SLURM_CPUS (default: the cluster's)
set -uo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh

# One data root for every notebook (they run inside notebooks/): synthlib.data.data_root, made absolute.
export SYNTHLIB_DATA="$(python -c 'from synthlib.data import data_root; print(data_root())')"
datasets="${DATASETS:-mnist cifar10 svhn}"
protocols="$(python -m synthlib protocols list)"
if [ -n "${PROTOCOLS:-}" ]; then
    if ! protocols="$(python -m synthlib protocols order $PROTOCOLS)"; then
        exit 2
    fi
    if [ "$(echo $protocols)" != "$(echo $PROTOCOLS)" ]; then
        echo "-- PROTOCOLS=\"$PROTOCOLS\": running \"$protocols\" (a protocol runs after those it takes results from)"
    fi
fi
baseline_args=()
if [ -n "${BASELINES+set}" ]; then
    baseline_args=(-y "baselines: [$(for b in $BASELINES; do printf '"%s", ' "$b"; done)]")
fi
seed_args=()
[ -n "${SEEDS:-}" ] && seed_args=(-y "seeds: $SEEDS")
device="${DEVICE:-auto}"
launcher="${LAUNCHER:-inprocess}"
case "$launcher" in
    inprocess | local | slurm) ;;
    *) echo "error: unknown LAUNCHER '$launcher'; valid values are: inprocess, local, slurm" >&2; exit 2 ;;
esac
# A GPU per task only where the runs use one: a cluster without GPUs rejects the request.
gpus="${SLURM_GPUS:-$([ "$device" = cuda ] && echo 1 || echo 0)}"
# The same settings for notebook 04 (papermill parameters) and the learning curves (options of python -m synthlib curves run).
launch_args=(-p launcher "$launcher" -p gpus_per_task "$gpus")
curves_launch_args=(--launcher "$launcher" --gpus-per-task "$gpus")
if [ -n "${SLURM_PARTITION:-}" ]; then
    launch_args+=(-r slurm_partition "$SLURM_PARTITION")
    curves_launch_args+=(--partition "$SLURM_PARTITION")
fi
if [ -n "${SLURM_CPUS:-}" ]; then
    launch_args+=(-p cpus_per_task "$SLURM_CPUS")
    curves_launch_args+=(--cpus-per-task "$SLURM_CPUS")
fi
if [ -n "${SLURM_TIME_MIN:-}" ]; then
    launch_args+=(-p time_limit_min "$SLURM_TIME_MIN")
    curves_launch_args+=(--time-limit-min "$SLURM_TIME_MIN")
fi
if [ -n "${SLURM_ARRAY_PARALLELISM:-}" ]; then
    launch_args+=(-p array_parallelism "$SLURM_ARRAY_PARALLELISM")
    curves_launch_args+=(--array-parallelism "$SLURM_ARRAY_PARALLELISM")
fi
results="$(mkdir -p "${RESULTS_DIR:-results}" && cd "${RESULTS_DIR:-results}" && pwd)"
figures_default=figures
[ -n "${RESULTS_DIR:-}" ] && figures_default="$results/figures"
figures="$(mkdir -p "${FIGURES_DIR:-$figures_default}" && cd "${FIGURES_DIR:-$figures_default}" && pwd)"
if [ "$results" = "$PWD/results" ] || [ "$figures" = "$PWD/figures" ]; then
    dirty=$(python -c 'from synthlib.provenance import dirty_paths; print(" ".join(dirty_paths()))')
    if [ -n "$dirty" ]; then
        echo "error: the tree has uncommitted changes ($dirty); records written into $PWD/results would name" >&2
        echo "a commit that did not make them. Commit first, or write to a scratch folder: RESULTS_DIR=/tmp/study ./run_all.sh" >&2
        exit 2
    fi
fi
executed="$results/notebooks"
mkdir -p "$executed"
# Paths handed to notebooks are relative to notebooks/ (their working folder), and executed notebooks are
# named relative to here: nothing committed holds a path of this machine.
relative() { python -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$1" "$2"; }
executed_rel="$(relative "$executed" .)"
results_nb="$(relative "$results" notebooks)"
figures_nb="$(relative "$figures" notebooks)"
tuning_params=()
[ -n "${TUNING_PARAMS:-}" ] && tuning_params=(-f "$(cd "$(dirname "$TUNING_PARAMS")" && pwd)/$(basename "$TUNING_PARAMS")")
failed=()
started=$SECONDS
# The study's wall time and the machine's matmul ceiling: <results>/study_timing.json (benchmarks/study_timing.py).
python -m benchmarks.study_timing start "$results"

notebook() {  # notebook NAME OUTPUT_NAME [papermill args...]
    local name=$1 output=$2
    shift 2
    echo "== $name -> $executed_rel/$output.ipynb"
    # benchmarks.study_step notes the step's seconds and peak memory for study_timing.json.
    if ! python -m benchmarks.study_step "$results" "$output" -- \
        papermill "notebooks/$name.ipynb" "$executed_rel/$output.ipynb" -k synthlib --cwd notebooks \
        --no-progress-bar --log-level WARNING --stdout-file >(cat) "$@"; then
        failed+=("$output")
        echo "!! $name failed; see $executed_rel/$output.ipynb"
    fi
}

if [ "${SKIP_EXPLORATION:-0}" != 1 ]; then
    notebook 01_distributions 01_distributions -p figures_dir "$figures_nb"
    notebook 02_kernels 02_kernels -p figures_dir "$figures_nb"
fi

available=()
for dataset in $datasets; do
    if reason=$(python -m synthlib.data "$dataset" 2>&1 >/dev/null); then
        available+=("$dataset")
    else
        echo "-- $dataset skipped: $reason"
    fi
done

for protocol in $protocols; do
    if ! reason=$(python -m synthlib protocols show "$protocol" 2>&1); then
        echo "!! $reason"
        failed+=("protocol $protocol")
        continue
    fi
    for dataset in "${available[@]}"; do
        if python -m synthlib protocols needs-tuning "$protocol"; then
            notebook 03_tuning "03_tuning_${protocol}_$dataset" -p protocol "$protocol" -p dataset "$dataset" \
                -p results_dir "$results_nb" -p device "$device" "${baseline_args[@]}" "${tuning_params[@]}"
        fi
        notebook 04_experiment "04_experiment_${protocol}_$dataset" -p protocol "$protocol" -p dataset "$dataset" \
            -p results_dir "$results_nb" -p device "$device" "${baseline_args[@]}" "${seed_args[@]}" "${launch_args[@]}"
    done
    notebook 05_results "05_results_$protocol" -p protocol "$protocol" -p results_dir "$results_nb" -p figures_dir "$figures_nb"
done

missing=$(python -m synthlib protocols missing "$results")
if [ "$(echo $missing)" = "$(echo $(python -m synthlib protocols list))" ]; then
    echo "-- 06_verdict skipped: no protocol has run records under $results"
else
    [ -n "$missing" ] && echo "-- 06_verdict judges the protocols that ran; not run, so not judged: $missing"
    notebook 06_verdict 06_verdict -p results_dir "$results_nb" -p figures_dir "$figures_nb"
fi

# The learning curves (synthlib/learning_curves.py), under sound's rules and with its tuned settings: every
# available dataset that sound has tuned; then 07_learning_curves builds results/learning_curves/ and
# figures/learning_curves.png.
curves_grid="${CURVES_GRID:-cpu}"
curves_datasets=()
for dataset in "${available[@]}"; do
    [ -f "$results/sound/tuning/$dataset.json" ] && curves_datasets+=("$dataset")
done
if [ "$curves_grid" = none ]; then
    echo "-- learning curves skipped: CURVES_GRID=none"
elif [ ${#curves_datasets[@]} -eq 0 ]; then
    echo "-- learning curves skipped: they take the sound protocol's tuned settings, and no dataset has them yet"
else
    echo "== learning curves (grid $curves_grid): ${curves_datasets[*]}"
    # timed beside the matmul ceiling: results/learning_curves/timing.json (benchmarks/curves_timing.py)
    if ! python -m benchmarks.study_step "$results" learning_curves -- \
        python -m benchmarks.curves_timing --grid "$curves_grid" --results "$results" --device "$device" \
        "${curves_launch_args[@]}" "${curves_datasets[@]}"; then
        failed+=("learning_curves")
    fi
    notebook 07_learning_curves 07_learning_curves -p results_dir "$results_nb" -p figures_dir "$figures_nb"
fi

if [ "$results" = "$PWD/results" ] && [ -f "$results/verdict.md" ]; then
    python scripts/update_readme.py "$results"  # the README and docs/ show the tables this run produced
fi
python -m benchmarks.study_timing finish "$results" "${failed[@]}"
echo "study finished in $((SECONDS - started)) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
