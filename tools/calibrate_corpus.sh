#!/bin/sh
# The joint calibration of the Sahel theatre on the whole convoy corpus, whose posterior medians
# theatres/sahel.yaml carries (docs/calibration.md, "Calibrating the theatre on the corpus"), then
# the leave-one-convoy-out check out of sample. Ten theatre values, the ones the Sobol sweep over the
# corpus ranks first (docs/corpus.md); every convoy's dates and counts enter the distance, each over
# its documented duration (--distance relative, the default for a corpus).
# This is the documented default budget of a corpus fit: 100 particles, 2,000 evaluations of 2
# replications of each of the 16 convoys. benchmarks/bench_corpus_calibration.py times it.
# Every particle sets all ten values, so the posterior does not depend on the values sahel.yaml
# holds (calibrated or not): only the posterior table's `base` column does. Then copy the medians of
# posterior_summary.csv into sahel.yaml, each with its interval and the value it replaced.
# Usage: tools/calibrate_corpus.sh [OUTPUT_DIRECTORY] [WORKERS]
set -e
convoysim calibrate corpus \
    --param theatre.threats.high.clearance_speed_factor=0.2:1 \
    --param theatre.kinds.logistics.speed_kmh.median=8:30 \
    --param theatre.roads.paved.speed_factor=1:3.5 \
    --param theatre.roads.laterite.speed_factor=0.5:2.5 \
    --param theatre.kinds.logistics.march_windows.0.to_h=10:19 \
    --param theatre.kinds.logistics.rest_halts.each_min=5:45 \
    --param theatre.threats.high.ied_per_100km=0:0.5 \
    --param theatre.threats.high.ambush_per_h=0:0.03 \
    --param theatre.kinds.combat.speed_kmh.median=8:30 \
    --param theatre.kinds.escorted_civilian.speed_kmh.median=6:28 \
    --budget 2000 --population 100 --particle-replications 2 --max-generations 10 \
    --check-replications 200 --seed 20260101 --workers "${2:-2}" --leave-one-out \
    --out "${1:-results/corpus/calibration-seed20260101}"
