"""`vlmcult generate` and `vlmcult audit`: thin typer wrappers around the generation API.

The lead's CLI registers them with `app.command("generate")(generate)` and `app.command("audit")(audit)`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer


def generate(
    model: str = typer.Option(..., "--model", "-m", help="Text-to-image model: diffusers:<hub-id-or-folder>."),
    prompts: str = typer.Option(..., "--prompts", help="cube-1k, cube-cspace, cube-diversity or a CSV/JSONL file."),
    out: Path = typer.Option(..., "--out", help="Run directory (images/, manifest.jsonl, run.json); resumes."),
    data: Optional[str] = typer.Option(None, "--data", help="Local copy of cube_1k.json / cube_CSpace.json.tar.gz."),
    images_per_prompt: int = typer.Option(1, "--images-per-prompt", "-k", help="Images per prompt (seeds S..S+K-1)."),
    seed: int = typer.Option(0, "--seed", help="First seed S."),
    steps: int = typer.Option(30, "--steps", help="Denoising steps."),
    guidance: float = typer.Option(7.5, "--guidance", help="Classifier-free guidance scale."),
    size: Optional[str] = typer.Option(None, "--size", help="HxW in pixels, e.g. 512x512 (default: the model's)."),
    batch_size: int = typer.Option(4, "--batch-size", help="Images per pipeline call."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N prompts."),
    negative_prompt: Optional[str] = typer.Option(None, "--negative-prompt", help="Negative prompt for every image."),
    device: Optional[str] = typer.Option(None, "--device", help="cuda or cpu (default: cuda when present)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Generate images for a prompt set into a resumable run directory."""
    from vlmcult.generation.generate import generate_images

    record = generate_images(
        model, prompts, out, data=data, images_per_prompt=images_per_prompt, seed=seed, steps=steps,
        guidance=guidance, size=size, batch_size=batch_size, limit=limit, negative_prompt=negative_prompt,
        device=device, progress=not quiet,
    )
    typer.echo(f"{record['n_images']} images in {out} ({record['n_generated']} generated now, "
               f"{record['n_images'] - record['n_generated']} already there)")


def audit(
    run_dirs: list[Path] = typer.Argument(..., help="Generation run directories (several: a comparison page)."),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="Report HTML file."),
    clip: Optional[str] = typer.Option(None, "--clip", help="CLIP spec for alignment, country ID and Vendi."),
    judge: Optional[str] = typer.Option(None, "--judge", help="VLM judge spec (hf:... or openai:...)."),
    api_base: Optional[str] = typer.Option(None, "--api-base", help="Base URL for an openai: judge."),
    ratings: Optional[Path] = typer.Option(None, "--ratings", help="Filled-in human rating CSV to fold in."),
    rating_sheet: Optional[Path] = typer.Option(None, "--rating-sheet", help="Write a blank rating sheet here."),
    grid: int = typer.Option(8, "--grid", help="Images shown per country x concept cell."),
    batch_size: int = typer.Option(16, "--batch-size", help="Images per CLIP / judge call."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap CIs."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress output."),
) -> None:
    """Score generated images (awareness, diversity) and write a self-contained HTML audit report."""
    from vlmcult.generation.awareness import run_audit

    pages = run_audit(
        run_dirs, out=out, clip=clip, judge=judge, api_base=api_base, ratings=ratings,
        rating_sheet=rating_sheet, grid=grid, batch_size=batch_size, seed=seed, progress=not quiet,
    )
    for page in pages:
        typer.echo(f"wrote {page}")


def main_generate() -> None:
    """`python -m vlmcult.generation.generate`: the generate command without the lead's app."""
    from vlmcult.errors import VlmcultError

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(generate)
    try:
        app()  # standalone: typer prints usage errors itself (exit 2)
    except VlmcultError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
