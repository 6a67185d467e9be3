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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["png", "svg", "pdf"]),
    default="png",
    show_default=True,
    help="File format of the figures.",
)
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
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write (default: DIRECTORY/report.html).",
)
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
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: DIRECTORY/march-<replication>.<format>).",
)
@click.option(
    "--replication",
    "-r",
    type=click.IntRange(min=0),
    help="Which replication (default: 0); `convoysim run --trace N` tells the same one in words.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["gif", "mp4"]),
    default=None,
    help="gif (default) or mp4 (needs ffmpeg: pip install 'convoysim[video]'); taken from --out's suffix when given.",
)
@click.option("--fps", type=click.IntRange(1, 60), default=10, show_default=True, help="Frames per second.")
@click.option(
    "--size",
    type=click.Choice(["720p", "1080p"]),
    default="720p",
    show_default=True,
    help="Slide size: 1280x720 or 1920x1080.",
)
def animate(directory: Path, out: Path | None, replication: int | None, fmt: str | None, fps: int, size: str) -> None:
    """Animate one replication's march on the route map, as a GIF (or MP4 with ffmpeg)."""
    from convoysim.commands.common import progress_bar
    from convoysim.figures.animate import ffmpeg_available, write_animation
    from convoysim.runs.reading import load_run

    if out is not None and fmt is None:
        fmt = out.suffix.lstrip(".").lower() or "gif"
    fmt = fmt or "gif"
    if fmt not in ("gif", "mp4"):
        _fail(f"{out}: an animation is written as .gif or .mp4, not .{fmt}")
        return
    if fmt == "mp4" and not ffmpeg_available():
        _fail(
            "--format mp4 needs ffmpeg, which is not installed here: pip install 'convoysim[video]' "
            "(imageio-ffmpeg, about 70 MB), or use --format gif"
        )
        return
    try:
        run = load_run(directory)
        which = replication if replication is not None else min(run.tracks, default=0)
        target = out.with_suffix(f".{fmt}") if out is not None else directory / f"march-{which}.{fmt}"
        target.parent.mkdir(parents=True, exist_ok=True)  # an unwritable place fails before any frame is drawn
        with progress_bar(0, f"animating replication {which}") as bar:
            task = bar.add_task("frames", total=None)
            path = write_animation(
                run,
                target,
                replication=which,
                fps=fps,
                size=size,
                progress=lambda i, n: bar.update(task, completed=i + 1, total=n),
            )
    except RunDirError as err:
        _fail(str(err))
        return
    click.echo(f"animation written to {path}")
