#!/usr/bin/env bash
# The whole study, unattended: every notebook executed by papermill, outputs in results/ and figures/.
#
#   SYNTHLIB_DATA=../shared/data ./run_all.sh
#
# Sets up .venv when needed. Per protocol (paper, authors_code, sound; see synthlib/protocols.py)
# and dataset: 03_tuning (validation-only hyperparameters; not for authors_code, which runs its
# whole grid), then 04_experiment (every column x seed [x setting], baselines included; one line
# per finished run). Then 05_results builds results/<protocol>/table1.{csv,md} and
# figures/<protocol>_table1.png, and 06_verdict judges the paper's claims under every protocol
# (results/verdict*.md, figures/protocols.png). Executed notebooks go to results/notebooks/.
# A dataset that cannot be had (SVHN offline) is skipped with the reason. Finished run records are
# reused, so an interrupted run picks up where it stopped. Exit status 1 if anything failed.
#
# Settings (environment variables):
#   SYNTHLIB_DATA     dataset folder (default ./data; downloads through torchvision land there)
#   DATASETS          default "mnist cifar10 svhn"
#   PROTOCOLS         default "paper authors_code sound"
#   BASELINES         fixed-feature baselines, default "logreg_pixels scattering" ("" for none)
#   SEEDS             evaluation seeds, YAML list, default: each protocol's own (3, 3 and 10 seeds)
#   DEVICE            auto | cpu | cuda, default auto
#   RESULTS_DIR       default results;  FIGURES_DIR  default figures
#   TUNING_PARAMS     optional YAML file of extra parameters for 03_tuning (e.g. a smaller grid)
#   SKIP_EXPLORATION  1 to skip notebooks 01 and 02 (distributions and kernels)
set -uo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh

# Notebooks run inside notebooks/: make a relative data folder absolute first.
export SYNTHLIB_DATA="$(mkdir -p "${SYNTHLIB_DATA:-data}" 2>/dev/null; cd "${SYNTHLIB_DATA:-data}" && pwd)"
datasets="${DATASETS:-mnist cifar10 svhn}"
protocols="${PROTOCOLS:-paper authors_code sound}"
baselines="[$(for b in ${BASELINES-logreg_pixels scattering}; do printf '"%s", ' "$b"; done)]"
seed_args=()
[ -n "${SEEDS:-}" ] && seed_args=(-y "seeds: $SEEDS")
device="${DEVICE:-auto}"
results="$(mkdir -p "${RESULTS_DIR:-results}" && cd "${RESULTS_DIR:-results}" && pwd)"
figures="$(mkdir -p "${FIGURES_DIR:-figures}" && cd "${FIGURES_DIR:-figures}" && pwd)"
executed="$results/notebooks"
mkdir -p "$executed"
tuning_params=()
[ -n "${TUNING_PARAMS:-}" ] && tuning_params=(-f "$(cd "$(dirname "$TUNING_PARAMS")" && pwd)/$(basename "$TUNING_PARAMS")")
failed=()
started=$SECONDS

notebook() {  # notebook NAME OUTPUT_NAME [papermill args...]
    local name=$1 output=$2
    shift 2
    echo "== $name -> $executed/$output.ipynb"
    if ! papermill "notebooks/$name.ipynb" "$executed/$output.ipynb" -k synthlib --cwd notebooks \
        --no-progress-bar --log-level WARNING --stdout-file >(cat) "$@"; then
        failed+=("$output")
        echo "!! $name failed; see $executed/$output.ipynb"
    fi
}

if [ "${SKIP_EXPLORATION:-0}" != 1 ]; then
    notebook 01_distributions 01_distributions -p figures_dir "$figures"
    notebook 02_kernels 02_kernels -p figures_dir "$figures"
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
    if ! selection=$(python -c "from synthlib.protocols import get_protocol; print(get_protocol('$protocol').selection)" 2>&1); then
        echo "!! protocol $protocol: ${selection##*$'\n'}"
        failed+=("protocol $protocol")
        continue
    fi
    for dataset in "${available[@]}"; do
        if [ "$selection" = tuned ]; then
            notebook 03_tuning "03_tuning_${protocol}_$dataset" -p protocol "$protocol" -p dataset "$dataset" \
                -p results_dir "$results" -p device "$device" "${tuning_params[@]}"
        fi
        notebook 04_experiment "04_experiment_${protocol}_$dataset" -p protocol "$protocol" -p dataset "$dataset" \
            -p results_dir "$results" -p device "$device" -y "baselines: $baselines" "${seed_args[@]}"
    done
    notebook 05_results "05_results_$protocol" -p protocol "$protocol" -p results_dir "$results" -p figures_dir "$figures"
done

all_protocols=1
for name in paper authors_code sound; do [ -d "$results/$name/runs" ] || all_protocols=0; done
if [ "$all_protocols" = 1 ]; then
    notebook 06_verdict 06_verdict -p results_dir "$results" -p figures_dir "$figures"
else
    echo "-- 06_verdict skipped: it needs records of all three protocols under $results"
fi

if [ "$results" = "$PWD/results" ] && [ -f "$results/paper/table1.md" ] && [ -f "$results/verdict.md" ]; then
    python scripts/update_readme.py "$results"  # the README shows the tables this run produced
fi
echo "study finished in $((SECONDS - started)) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
