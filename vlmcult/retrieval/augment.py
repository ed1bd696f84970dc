"""The only place where retrieved text enters a prompt: RAVENEA's official insertion templates.

Sources (yfyuan01/RAVENEA, v2 code):
* cVQA, `src/downstream_cvqa.py`@6dd123c `prepare_cvqa_input`: the query template's `{Retrieval}` slot
  is "" without documents, else the sentence below with the documents joined by " " and stripped.
* cIC, `src/downstream_cic.py`@6dd123c `prepare_cic_input`: the `{CONTEXT}` slot is " " without
  documents, else the context below; the whole prompt is `.strip()`ped afterwards.
* Document text: `ravenea_doc_text` (headings stripped, first 256 words, cut at the last ". ").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vlmcult.retrieval.corpus import ravenea_doc_text

__all__ = [
    "CIC_RAG_TEMPLATE",
    "CIC_TEMPLATE",
    "CVQA_RAG_TEMPLATE",
    "CVQA_TEMPLATE",
    "cic_prompt",
    "cic_rag_context",
    "cvqa_prompt",
    "cvqa_rag_sentence",
    "oracle_doc_ids",
    "ravenea_cic_context",
    "ravenea_cvqa_retrieval_text",
    "ravenea_doc_text",
    "retrieve_for_image",
]

CVQA_TEMPLATE = (
    "Answer the following multiple choice question for the image. The last line must be of the following "
    "format: 'Answer: $LETTER' (without quotes) where LETTER must be one of A, B, C, or D.{Retrieval}\n\n"
    "Question: {Question}\n\n{Options}"
)
CVQA_RAG_TEMPLATE = (
    " Use the shared culture between the image and the following document to answer the question.\n\n"
    "Document:\n{Retrieval}"
)
CIC_TEMPLATE = (
    "Write a concise, one-sentence caption for the given image. The generated caption must contain the visual "
    "content, culturally-relevant elements, and the country's name. Avoid phrases like 'This image' or "
    "'The image'.{CONTEXT}"
)
CIC_RAG_TEMPLATE = (
    " Please consider the following DOCUMENT as supplementary material for the image. Mention the country's "
    "name of the culture.\n\nDOCUMENT:\n{Retrieval}\n"
)


def cvqa_rag_sentence(doc_texts: Sequence[str]) -> str:
    """What fills `{Retrieval}` of the cVQA prompt: "" without documents (the rag=off prompt)."""
    if not doc_texts:
        return ""
    return CVQA_RAG_TEMPLATE.format(Retrieval=" ".join(doc_texts).strip())


def cic_rag_context(doc_texts: Sequence[str]) -> str:
    """What fills `{CONTEXT}` of the cIC prompt: " " without documents (the rag=off prompt)."""
    if not doc_texts:
        return " "
    return CIC_RAG_TEMPLATE.format(Retrieval=" ".join(doc_texts).strip())


def ravenea_cvqa_retrieval_text(docs: str | Sequence[str]) -> str:
    """`cvqa_rag_sentence` for one already joined document string or a list of documents."""
    return cvqa_rag_sentence([docs] if isinstance(docs, str) else list(docs))


def ravenea_cic_context(docs: str | Sequence[str]) -> str:
    """`cic_rag_context` for one already joined document string or a list of documents."""
    return cic_rag_context([docs] if isinstance(docs, str) else list(docs))


def cvqa_prompt(question: str, options: Sequence[str], doc_texts: Sequence[str] = ()) -> str:
    """The full RAVENEA v2 cVQA prompt; `options` as released ("A. text", ...), `doc_texts` ready to insert."""
    return CVQA_TEMPLATE.format(Retrieval=cvqa_rag_sentence(doc_texts), Question=question, Options="\n".join(options))


def cic_prompt(doc_texts: Sequence[str] = ()) -> str:
    """The full RAVENEA v2 cIC prompt; `doc_texts` ready to insert."""
    return CIC_TEMPLATE.format(CONTEXT=cic_rag_context(doc_texts)).strip()


def oracle_doc_ids(enwiki_ids: Sequence[str], culture_relevance: Sequence[int], top_k: int = 1) -> list[str]:
    """The `top_k` candidates with the highest relevance grade (ties keep candidate order)."""
    order = sorted(range(len(enwiki_ids)), key=lambda i: -int(culture_relevance[i]))
    return [enwiki_ids[i] for i in order[:top_k]]


def retrieve_for_image(index: Any, image: Any, top_k: int = 1) -> list[tuple[str, str, str, float]]:
    """The top-k documents for an image: (doc_id, title, text ready to insert, cosine score).

    `index` is a loaded RetrievalIndex (its encoder must embed images: openclip: or hf:). Each
    document appears once (its best passage). The text is `ravenea_doc_text` of the passage,
    unless the index was built with RAVENEA chunking, whose passages already are that text (the
    cut is not idempotent, so it is applied exactly once).
    """
    hits = index.search(images=[image], k=top_k, unique_docs=True)[0]
    ready = index.chunking == "ravenea"
    return [(hit.doc_id, hit.title, hit.text if ready else ravenea_doc_text(hit.text), hit.score) for hit in hits]
