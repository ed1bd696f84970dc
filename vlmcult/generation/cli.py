"""`vlmcult generate` and `vlmcult audit`: thin typer wrappers around the generation API.

The lead's CLI registers them with `app.command("generate")(generate)` and `app.command("audit")(audit)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def generate(
    model: Annotated[str, typer.Option("--model", "-m", help="Text-to-image model: diffusers:<hub-id-or-folder>.")],
    prompts: Annotated[
        str, typer.Option("--prompts", help="cube-1k, cube-cspace, cube-diversity or a CSV/JSONL file.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Run directory (images/, manifest.jsonl, run.json); resumes.")],
    data: Annotated[
        str | None, typer.Option("--data", help="Local copy of cube_1k.json / cube_CSpace.json.tar.gz.")
    ] = None,
    images_per_prompt: Annotated[
        int, typer.Option("--images-per-prompt", "-k", help="Images per prompt (seeds S..S+K-1).")
    ] = 1,
    seed: Annotated[int, typer.Option("--seed", help="First seed S.")] = 0,
    steps: Annotated[int, typer.Option("--steps", help="Denoising steps.")] = 30,
    guidance: Annotated[float, typer.Option("--guidance", help="Classifier-free guidance scale.")] = 7.5,
    size: Annotated[
        str | None, typer.Option("--size", help="HxW in pixels, e.g. 512x512 (default: the model's).")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per pipeline call.")] = 4,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N prompts.")] = None,
    negative_prompt: Annotated[
        str | None, typer.Option("--negative-prompt", help="Negative prompt for every image.")
    ] = None,
    device: Annotated[str | None, typer.Option("--device", help="cuda or cpu (default: cuda when present).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Generate images for a prompt set into a resumable run directory."""
    from vlmcult.generation.generate import generate_images

    record = generate_images(
        model,
        prompts,
        out,
        data=data,
        images_per_prompt=images_per_prompt,
        seed=seed,
        steps=steps,
        guidance=guidance,
        size=size,
        batch_size=batch_size,
        limit=limit,
        negative_prompt=negative_prompt,
        device=device,
        progress=not quiet,
    )
    typer.echo(
        f"{record['n_images']} images in {out} ({record['n_generated']} generated now, "
        f"{record['n_images'] - record['n_generated']} already there)"
    )


def audit(
    run_dirs: Annotated[list[Path], typer.Argument(help="Generation run directories (several: a comparison page).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report HTML file.")] = Path("report.html"),
    clip: Annotated[str | None, typer.Option("--clip", help="CLIP spec for alignment, country ID and Vendi.")] = None,
    judge: Annotated[str | None, typer.Option("--judge", help="VLM judge spec (hf:... or openai:...).")] = None,
    api_base: Annotated[str | None, typer.Option("--api-base", help="Base URL for an openai: judge.")] = None,
    ratings: Annotated[Path | None, typer.Option("--ratings", help="Filled-in human rating CSV to fold in.")] = None,
    rating_sheet: Annotated[
        Path | None, typer.Option("--rating-sheet", help="Write a blank rating sheet here.")
    ] = None,
    grid: Annotated[int, typer.Option("--grid", help="Images shown per country x concept cell.")] = 8,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per CLIP / judge call.")] = 16,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap CIs.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress output.")] = False,
) -> None:
    """Score generated images (awareness, diversity) and write a self-contained HTML audit report."""
    from vlmcult.generation.awareness import run_audit

    pages = run_audit(
        run_dirs,
        out=out,
        clip=clip,
        judge=judge,
        api_base=api_base,
        ratings=ratings,
        rating_sheet=rating_sheet,
        grid=grid,
        batch_size=batch_size,
        seed=seed,
        progress=not quiet,
    )
    for page in pages:
        typer.echo(f"wrote {page}")


def main_generate() -> None:
    """`python -m vlmcult.generation.generate`: the generate command without the lead's app."""
    from vlmcult.errors import run_command

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(generate)
    run_command(app)  # standalone: typer prints usage errors itself (exit 2)
