"""`vlmcult index build` and `vlmcult index search` (mounted by vlmcult.cli as `index`).

Bad input raises a VlmcultError; the main CLI prints its one line and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

index_app = typer.Typer(help="Build and search retrieval indexes.", no_args_is_help=True)


@index_app.command("build")
def build(
    corpus: Path = typer.Option(..., "--corpus", help="JSONL/parquet file or folder with id, title, text (url)."),
    encoder: str = typer.Option(..., "--encoder", help="Embedder spec: sbert:minilm, openclip:ARCH@TAG, hf:MODEL."),
    out: Path = typer.Option(..., "--out", help="Index folder to write."),
    factory: Optional[str] = typer.Option(
        None, "--factory", help="faiss index_factory string (default: Flat below 100k vectors, IVF above, PQ if RAM is short)."
    ),
    chunking: str = typer.Option("words", "--chunking", help="words | ravenea (first 256 words, RAVENEA parity) | document."),
    chunk_words: int = typer.Option(200, "--chunk-words", help="Words per passage (chunking=words)."),
    chunk_overlap: int = typer.Option(40, "--chunk-overlap", help="Words shared by consecutive passages."),
    nprobe: Optional[int] = typer.Option(None, "--nprobe", help="IVF lists searched per query (recorded in meta.json)."),
    batch_size: int = typer.Option(256, "--batch-size", help="Passages per encoder call."),
    shard_size: int = typer.Option(50_000, "--shard-size", help="Passages per shard (bounds memory; resume unit)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 (default: cuda when present)."),
    skip_empty: bool = typer.Option(False, "--skip-empty", help="Skip documents without text instead of failing."),
    resume: bool = typer.Option(False, "--resume", help="Keep finished shards of an interrupted build."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing index in --out."),
) -> None:
    """Embed a corpus and write index.faiss, docs.parquet and meta.json."""
    from vlmcult.retrieval.corpus import Chunking
    from vlmcult.retrieval.index import build_index, read_meta

    out_dir = build_index(
        corpus, encoder, out, factory,
        chunking=Chunking(mode=chunking, words=chunk_words, overlap=chunk_overlap),
        search_params={"nprobe": nprobe} if nprobe is not None else None,
        batch_size=batch_size, shard_size=shard_size, device=device, skip_empty=skip_empty,
        resume=resume, overwrite=overwrite,
    )
    meta = read_meta(out_dir)
    typer.echo(
        f"wrote {out_dir}: {meta['count']} vectors of dim {meta['dim']}, {meta['factory']}, "
        f"encoder {meta['encoder']['id']}, {meta['build_seconds']:.1f} s"
    )


@index_app.command("search")
def search(
    index_dir: Path = typer.Argument(..., help="Index folder written by `vlmcult index build`."),
    text: Optional[str] = typer.Option(None, "--text", help="Text query."),
    image: Optional[Path] = typer.Option(None, "--image", help="Image query (needs an openclip: or hf: index)."),
    k: int = typer.Option(10, "-k", "--k", help="Results to show."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="Encoder spec (default: the one the index records)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, ..."),
) -> None:
    """Print the top-k passages for a text or image query: rank, score, doc id, title."""
    from rich.console import Console
    from rich.table import Table

    from vlmcult.errors import ConfigError
    from vlmcult.retrieval.index import load_index

    if (text is None) == (image is None):
        raise ConfigError("give exactly one of --text QUERY or --image PATH")
    index = load_index(index_dir, encoder=encoder, device=device)
    if text is not None:
        hits = index.search(texts=[text], k=k)[0]
    else:
        hits = index.search(images=[image], k=k)[0]
    table = Table(title=f"{index_dir} ({index.encoder_id})")
    for column in ("rank", "score", "doc id", "title", "passage"):
        table.add_column(column)
    for rank, hit in enumerate(hits, start=1):
        snippet = hit.text if len(hit.text) <= 80 else hit.text[:77] + "..."
        table.add_row(str(rank), f"{hit.score:.4f}", hit.doc_id, hit.title, snippet)
    Console().print(table)
