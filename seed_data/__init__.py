"""The five seed networks and the shared taxonomy, shipped with the package."""

from pathlib import Path

SEED_DIR = Path(__file__).parent


def seed_files() -> list[Path]:
    """The taxonomy first, then the networks in name order."""
    taxonomy = SEED_DIR / "taxonomy.json"
    return [taxonomy, *sorted(p for p in SEED_DIR.glob("*.json") if p != taxonomy)]
