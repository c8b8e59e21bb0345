"""The coaching brain: exercises, ladders, the picker and progression rules (pure Python).

No Telegram, database or clock in here: every function takes the facts and returns a
decision with a reason. The names below are the public API the bot uses.
"""

from content.exercise import Dose, Exercise
from content.ladders import Ladder, ladder_problems
from content.library import Library, LibraryError, load_library, parse_library
from content.picker import (
    NudgePlan,
    PickContext,
    Profile,
    RecentNudge,
    candidates,
    pick_nudge,
    quick_reply_counts,
)
from content.progression import Action, Decision, Report, decide, reads_resting_pain
from content.redflags import RedFlag, RedFlagScan, referral_lines, scan_red_flags
from content.screen import (
    Context,
    Experience,
    NudgeWindow,
    PainSite,
    Programme,
    ProgrammeFlag,
    ProneResult,
    ScreenAnswers,
    SqueezeResult,
    starting_programme,
)
from content.vocabulary import (
    Anchor,
    Equipment,
    FeltIn,
    Legs,
    Load,
    Place,
    Setting,
    Side,
    Track,
)

__all__ = [
    "Action",
    "Anchor",
    "Context",
    "Decision",
    "Dose",
    "Equipment",
    "Exercise",
    "Experience",
    "FeltIn",
    "Ladder",
    "Legs",
    "Library",
    "LibraryError",
    "Load",
    "NudgePlan",
    "NudgeWindow",
    "PainSite",
    "PickContext",
    "Place",
    "Profile",
    "Programme",
    "ProgrammeFlag",
    "ProneResult",
    "RecentNudge",
    "RedFlag",
    "RedFlagScan",
    "Report",
    "ScreenAnswers",
    "Setting",
    "Side",
    "SqueezeResult",
    "Track",
    "candidates",
    "decide",
    "ladder_problems",
    "load_library",
    "parse_library",
    "pick_nudge",
    "quick_reply_counts",
    "reads_resting_pain",
    "referral_lines",
    "scan_red_flags",
    "starting_programme",
]
