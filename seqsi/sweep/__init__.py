"""Sweeps over an experiment's run matrix: plan, run locally N at a time, or on SLURM as a
job array, and read back where every run stands from its run folder alone.

An experiment folder defines its matrix in `sweep_matrix.py` (see seqsi.sweep.matrix); this
package loads it by path or name and never imports an experiment itself.
"""
from .matrix import Matrix, Run, Step, env_choices, env_flag, env_ints, env_words, load_matrix
from .state import RunState, state_of

__all__ = ["Matrix", "Run", "RunState", "Step", "env_choices", "env_flag", "env_ints", "env_words", "load_matrix",
           "state_of"]
