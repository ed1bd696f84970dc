"""RAG prompts against RAVENEA's official v2 templates, written out literally here."""

from __future__ import annotations

from vlmcult.retrieval.augment import (
    cic_prompt,
    cic_rag_context,
    cvqa_prompt,
    cvqa_rag_sentence,
    oracle_doc_ids,
    ravenea_cic_context,
    ravenea_cvqa_retrieval_text,
    ravenea_doc_text,
)

OPTIONS = ["A. Jollof rice", "B. Paella", "C. Pilaf", "D. Risotto"]


def test_cvqa_prompt_without_and_with_a_document():
    plain = cvqa_prompt("What is this dish?", OPTIONS)
    assert plain == (
        "Answer the following multiple choice question for the image. The last line must be of the following format: "
        "'Answer: $LETTER' (without quotes) where LETTER must be one of A, B, C, or D.\n\n"
        "Question: What is this dish?\n\nA. Jollof rice\nB. Paella\nC. Pilaf\nD. Risotto"
    )
    doc = ravenea_doc_text("# Jollof rice\nJollof rice is a West African dish. It is cooked in tomato sauce. Families")
    assert doc == "Jollof rice is a West African dish. It is cooked in tomato sauce."
    assert cvqa_prompt("What is this dish?", OPTIONS, [doc]) == (
        "Answer the following multiple choice question for the image. The last line must be of the following format: "
        "'Answer: $LETTER' (without quotes) where LETTER must be one of A, B, C, or D. Use the shared culture between "
        "the image and the following document to answer the question.\n\nDocument:\n"
        "Jollof rice is a West African dish. It is cooked in tomato sauce.\n\n"
        "Question: What is this dish?\n\nA. Jollof rice\nB. Paella\nC. Pilaf\nD. Risotto"
    )


def test_top_k_documents_are_joined_with_a_space():
    sentence = cvqa_rag_sentence(["First doc.", "Second doc. "])
    assert sentence.endswith("Document:\nFirst doc. Second doc.")
    assert ravenea_cvqa_retrieval_text("First doc. Second doc.") == sentence
    assert cvqa_rag_sentence([]) == ""


def test_cic_prompt_without_and_with_a_document():
    assert cic_prompt() == (
        "Write a concise, one-sentence caption for the given image. The generated caption must contain the visual "
        "content, culturally-relevant elements, and the country's name. Avoid phrases like 'This image' or 'The image'."
    )
    assert cic_prompt(["Hanbok is the traditional clothing of Korea."]) == (
        "Write a concise, one-sentence caption for the given image. The generated caption must contain the visual "
        "content, culturally-relevant elements, and the country's name. Avoid phrases like 'This image' or 'The image'."
        " Please consider the following DOCUMENT as supplementary material for the image. Mention the country's name "
        "of the culture.\n\nDOCUMENT:\nHanbok is the traditional clothing of Korea."
    )
    assert cic_rag_context([]) == " "
    assert ravenea_cic_context("x.") == cic_rag_context(["x."])


def test_oracle_picks_highest_grade_first_on_ties():
    assert oracle_doc_ids(["a", "b", "c", "d"], [1, 3, -2, 3]) == ["b"]
    assert oracle_doc_ids(["a", "b", "c", "d"], [1, 3, -2, 3], top_k=3) == ["b", "d", "a"]
