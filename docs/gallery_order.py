"""The order of the gallery: a story from behaviour to structure, not the alphabet."""

from pathlib import Path

ORDER = (
    "plot_coin_flip",
    "plot_three_sided_die",
    "plot_two_armed_bandit",
    "plot_convergence",
    "plot_analytic_machines",
    "plot_reduced_memory",
    "plot_fsm_extraction",
    "plot_lstar_coin_lstm",
    "plot_your_own_gru",
    "plot_your_own_environment",
)


class StoryOrder:
    """sphinx-gallery ``within_subsection_order``: listed examples first, in ORDER, then by name."""

    def __init__(self, src_dir: str) -> None:
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[int, str]:
        stem = Path(filename).stem
        return (ORDER.index(stem) if stem in ORDER else len(ORDER), stem)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
