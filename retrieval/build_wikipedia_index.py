"""Build a vlmcult index over a full Wikipedia parquet dump, on every GPU present, resumable.

    python retrieval/build_wikipedia_index.py --dump /data/wikipedia/20231101.en \
        --encoder openclip:ViT-L-14@openai --out /data/indexes/enwiki-vitl14

The dump is the Hugging Face `wikimedia/wikipedia` layout (parquet shards with `id, url, title, text`).
Passages (default 200 words, 40 overlap) are embedded in shards of `--shard-size` passages; with N GPUs,
N worker processes each take every N-th shard. Finished shards stay in OUT/shards, so rerunning the same
command after a crash embeds only what is missing. The index is then trained on a sample and filled shard
by shard; the default for tens of millions of passages is IVF-PQ (`vlmcult.retrieval.index.default_factory`),
or pass e.g. `--factory IVF65536,PQ64`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from pathlib import Path

from vlmcult.errors import run_command


def embed_worker(args: argparse.Namespace, worker: int, workers: int, device: str) -> None:
    from vlmcult.retrieval.corpus import Chunking
    from vlmcult.retrieval.encode import load_embedder
    from vlmcult.retrieval.index import embed_shards

    embedder = load_embedder(args.encoder, device=device, batch_size=args.batch_size)
    embed_shards(
        args.dump, embedder, args.out / "shards",
        chunking=Chunking(args.chunking, words=args.chunk_words, overlap=args.chunk_overlap),
        shard_size=args.shard_size, batch_size=args.batch_size, skip_empty=True,
        worker=worker, workers=workers, progress=worker == 0,
    )


def worker_process(args: argparse.Namespace, worker: int, workers: int, device: str) -> None:
    """embed_worker in a spawned process: a user error is one line and exit code 2, not a traceback."""
    run_command(lambda: embed_worker(args, worker, workers, device), prefix=f"worker {worker} ({device}): ")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dump", type=Path, required=True, help="folder of Wikipedia parquet shards")
    parser.add_argument("--encoder", required=True, help="embedder spec, e.g. openclip:ViT-L-14@openai, hf:MODEL, sbert:MODEL")
    parser.add_argument("--out", type=Path, required=True, help="index folder (its shards/ subfolder makes it resumable)")
    parser.add_argument("--factory", default=None, help="faiss index_factory string (default: chosen from the size)")
    parser.add_argument("--nprobe", type=int, default=None)
    parser.add_argument("--chunking", default="words", choices=("words", "ravenea", "document"))
    parser.add_argument("--chunk-words", type=int, default=200)
    parser.add_argument("--chunk-overlap", type=int, default=40)
    parser.add_argument("--shard-size", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--train-size", type=int, default=None, help="vectors sampled to train IVF/PQ")
    parser.add_argument("--gpus", type=int, default=None, help="GPUs to use (default: all visible)")
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> None:
    """Embed the dump on every GPU (or the CPU), then assemble and describe the index."""
    from vlmcult.retrieval.corpus import Chunking
    from vlmcult.retrieval.index import assemble_index, check_corpus, read_meta

    started = time.time()
    Chunking(args.chunking, words=args.chunk_words, overlap=args.chunk_overlap)  # bad chunk sizes fail here
    check_corpus(args.dump, skip_empty=True)  # a wrong --dump fails before any encoder loads
    import torch

    gpus = torch.cuda.device_count() if args.gpus is None else min(args.gpus, torch.cuda.device_count())
    args.out.mkdir(parents=True, exist_ok=True)
    if gpus <= 1:
        embed_worker(args, 0, 1, "cuda:0" if gpus == 1 else "cpu")
    else:
        context = multiprocessing.get_context("spawn")
        processes = [context.Process(target=worker_process, args=(args, g, gpus, f"cuda:{g}")) for g in range(gpus)]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        failed = [g for g, p in enumerate(processes) if p.exitcode != 0]
        if failed:
            raise SystemExit(f"embedding workers {failed} failed; rerun the same command to resume")
    assemble_index(
        args.out / "shards", args.out, encoder_spec=args.encoder, factory=args.factory,
        search_params={"nprobe": args.nprobe} if args.nprobe else None, train_size=args.train_size,
        started=started,
    )
    meta = read_meta(args.out)
    print(f"{args.out}: {meta['count']:,} passages, {meta['factory']}, {meta['search_params']}, "
          f"{meta['build_seconds'] / 3600:.2f} h")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: a user error is one line on stderr and exit code 2, as in `vlmcult`."""
    args = parse_args(argv)
    run_command(lambda: build(args),
                interrupted="interrupted: finished shards are saved; rerun the same command to resume")


if __name__ == "__main__":
    main()
