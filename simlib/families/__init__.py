"""Output families: the distributions a machine's output vector parametrises."""

from simlib.families.base import OutputFamily
from simlib.families.bernoulli import Bernoulli
from simlib.families.categorical import Categorical
from simlib.families.exponential import Exponential
from simlib.families.lomax import Lomax
from simlib.families.normal import Normal
from simlib.families.policy import Policy
from simlib.families.registry import family_from_config
from simlib.families.student_t import StudentT

__all__ = [
    "OutputFamily",
    "Bernoulli",
    "Categorical",
    "Policy",
    "Normal",
    "StudentT",
    "Lomax",
    "Exponential",
    "family_from_config",
]
