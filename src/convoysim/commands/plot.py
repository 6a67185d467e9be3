"""`convoysim plot`, `convoysim report` and `convoysim animate`: figures, an HTML report and a GIF of a run.

Thin: each command calls one library function (convoysim.figures, convoysim.figures.report,
convoysim.figures.animate). matplotlib is imported only when one of them runs, so `convoysim run` and
`--help` stay quick.
"""

from __future__ import annotations

from pathlib import Path

import click

from convoysim.runs.reading import RunDirError

DIRECTORY = click.Path(exists=False, file_okay=False, path_type=Path)


def _fail(message: str) -> None:
    from convoysim.commands.common import fail

    fail(message)


def draw_after_run(run_dir: Path, fmt: str = "png") -> list[Path]:
    """What `convoysim run --plot` does once the run directory is written: figures into <run>/figures."""
    import shutil
    import tempfile

    from convoysim.figures import plot_directory

    final = run_dir / "figures"
    partial = Path(tempfile.mkdtemp(prefix=".figures.", suffix=".partial", dir=run_dir))
    try:
        drawn = plot_directory(run_dir, partial, fmt)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    written = [final / path.relative_to(partial) for path in drawn]
    click.echo(f"{len(written)} figures written to {final}")
    return written


@click.command()
@click.argument("directory", type=DIRECTORY)
@click.option("--out", "-o", type=DIRECTORY, help="Folder for the figures (default: DIRECTORY/figures).")
@click.option("--format", "fmt", type=click.Choice(["png", "svg", "pdf"]), default="png", show_default=True,
              help="File format of the figures.")
def plot(directory: Path, out: Path | None, fmt: str) -> None:
    """Draw every figure of a run or sweep DIRECTORY (time-distance chart, arrivals, route map, ...)."""
    from convoysim.figures import plot_directory

    try:
        written = plot_directory(directory, out, fmt)
    except RunDirError as err:
        _fail(str(err))
        return
    for path in written:
        click.echo(str(path))


@click.command()
@click.argument("directory", type=DIRECTORY)
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write (default: DIRECTORY/report.html).")
def report(directory: Path, out: Path | None) -> None:
    """Write one self-contained HTML report of a run or sweep DIRECTORY (opens offline in any browser)."""
    from convoysim.figures.report import write_report

    try:
        path = write_report(directory, out)
    except RunDirError as err:
        _fail(str(err))
        return
    click.echo(f"report written to {path}")


@click.command()
@click.argument("directory", type=DIRECTORY)
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: DIRECTORY/march-<replication>.<format>).")
@click.option("--replication", "-r", type=click.IntRange(min=0), help="Which tracked replication (default: the first).")
@click.option("--format", "fmt", type=click.Choice(["gif", "mp4"]), default=None,
              help="gif (default) or mp4 (needs ffmpeg); taken from --out's suffix when given.")
@click.option("--fps", type=click.IntRange(1, 60), default=10, show_default=True, help="Frames per second.")
def animate(directory: Path, out: Path | None, replication: int | None, fmt: str | None, fps: int) -> None:
    """Animate one replication's march on the route map, as a GIF (or MP4 with ffmpeg)."""
    from convoysim.figures.animate import ffmpeg_available, write_animation
    from convoysim.runs.reading import load_run

    if out is not None and fmt is None:
        fmt = out.suffix.lstrip(".").lower() or "gif"
    fmt = fmt or "gif"
    if fmt not in ("gif", "mp4"):
        _fail(f"{out}: an animation is written as .gif or .mp4, not .{fmt}")
        return
    if fmt == "mp4" and not ffmpeg_available():
        _fail("--format mp4 needs ffmpeg, which is not installed here; use --format gif (or apt-get install ffmpeg)")
        return
    try:
        run = load_run(directory)
        which = replication if replication is not None else min(run.tracks, default=0)
        target = out.with_suffix(f".{fmt}") if out is not None else directory / f"march-{which}.{fmt}"
        target.parent.mkdir(parents=True, exist_ok=True)  # an unwritable place fails before any frame is drawn
        path = write_animation(run, target, replication=replication, fps=fps)
    except RunDirError as err:
        _fail(str(err))
        return
    click.echo(f"animation written to {path}")
