# Sourced by acac_cpu.sh and acac_cpu_snapshot.sh: the run and results directories of the
# AcAc CPU run of width CHANNELS (default 64).
channels=${CHANNELS:-64}
runs=${RUNS:-.runs}
name=acac-c$channels-cpu
run=$runs/$name
results=benchmarks/results/mace_acac_cpu2
if [ "$channels" != 64 ]; then results=${results}_c$channels; fi
