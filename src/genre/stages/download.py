"""Stage `download`: fill data/raw with the clips of `data.source` (see genre.sources.dataset).

Reads params `data`. A set no stratified split can be made of is refused before it replaces
data/raw (genre.sources.checks.check_splittable).
"""

from genre import params
from genre.errors import run_cli
from genre.sources import checks
from genre.sources.dataset import download


def main() -> None:
    print(download(params.load("data"), check=checks.check_splittable))


if __name__ == "__main__":
    run_cli(main)
