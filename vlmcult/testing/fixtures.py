"""Small benchmark data in each official format, with drawn images: for tests and the offline demo.

Every writer produces exactly the published layout (CVQA / CulturalVQA parquet with embedded images and
Hugging Face `Image` feature metadata; the RAVENEA v2 release folder), so the real loaders read them.
The questions are written for vlmcult; they are not benchmark data.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# (language, country, category, question_en, options_en, label, question_local, options_local)
CVQA_ROWS: list[tuple[str, str, str, str, list[str], int, str, list[str]]] = [
    ("Japanese", "Japan", "Cooking and food", "What is this dish called?",
     ["Sushi", "Tacos", "Jollof rice", "Pierogi"], 0, "この料理の名前は何ですか？", ["寿司", "タコス", "ジョロフライス", "ピエロギ"]),
    ("Japanese", "Japan", "Objects / materials / clothing", "What garment is the person wearing?",
     ["Sari", "Kimono", "Hanbok", "Poncho"], 1, "この人が着ている服は何ですか？", ["サリー", "着物", "韓服", "ポンチョ"]),
    ("Japanese", "Japan", "Geography / buildings / landmarks", "Which mountain is shown?",
     ["Kilimanjaro", "Mount Fuji", "Mont Blanc", "Denali"], 1, "どの山ですか？", ["キリマンジャロ", "富士山", "モンブラン", "デナリ"]),
    ("Tamil", "India", "Cooking and food", "What is this breakfast food?",
     ["Croissant", "Bagel", "Dosa", "Arepa"], 2, "இந்த காலை உணவு என்ன?", ["குரோசான்ட்", "பேகல்", "தோசை", "அரேபா"]),
    ("Tamil", "India", "Traditions / art / history", "Which festival uses these lamps?",
     ["Deepavali", "Hanukkah", "Carnival", "Oktoberfest"], 0, "இந்த விளக்குகள் எந்த பண்டிகைக்கு?", ["தீபாவளி", "ஹனுக்கா", "கார்னிவல்", "அக்டோபர்ஃபெஸ்ட்"]),
    ("Tamil", "India", "Sports and recreation", "Which sport is being played?",
     ["Baseball", "Kabaddi", "Curling", "Polo"], 1, "எந்த விளையாட்டு?", ["பேஸ்பால்", "கபடி", "கர்லிங்", "போலோ"]),
    ("Yoruba", "Nigeria", "Cooking and food", "What is this rice dish?",
     ["Paella", "Risotto", "Jollof rice", "Biryani"], 2, "Kí ni oúnjẹ ìrẹsì yìí?", ["Paella", "Risotto", "Jollof", "Biryani"]),
    ("Yoruba", "Nigeria", "Objects / materials / clothing", "What is this headwear called?",
     ["Gele", "Beret", "Turban", "Sombrero"], 0, "Kí ni orúkọ fìlà yìí?", ["Gèlè", "Beret", "Láwàní", "Sombrero"]),
    ("Yoruba", "Nigeria", "Traditions / art / history", "Which drum is this?",
     ["Tabla", "Talking drum", "Taiko", "Bodhran"], 1, "Ìlù wo nìyí?", ["Tabla", "Gángan", "Taiko", "Bodhran"]),
    ("Spanish", "Mexico", "Cooking and food", "What is this dish?",
     ["Mole poblano", "Goulash", "Ramen", "Borscht"], 0, "¿Qué platillo es este?", ["Mole poblano", "Gulash", "Ramen", "Borsch"]),
    ("Spanish", "Mexico", "Traditions / art / history", "Which celebration is shown?",
     ["Day of the Dead", "Holi", "Diwali", "Songkran"], 0, "¿Qué celebración se muestra?", ["Día de Muertos", "Holi", "Diwali", "Songkran"]),
    ("Spanish", "Mexico", "Geography / buildings / landmarks", "Which site is this pyramid at?",
     ["Giza", "Teotihuacan", "Angkor", "Petra"], 1, "¿En qué sitio está esta pirámide?", ["Guiza", "Teotihuacán", "Angkor", "Petra"]),
]


def draw_image(seed: int, size: int = 64) -> Any:
    """A deterministic picture of coloured shapes."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x0, y0 = rng.randrange(size // 2), rng.randrange(size // 2)
        x1, y1 = x0 + rng.randrange(4, size // 2), y0 + rng.randrange(4, size // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return image


def png_bytes(image: Any, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def _hf_image_table(columns: dict[str, Any], feature_types: dict[str, dict[str, Any]]) -> Any:
    """A pyarrow table whose schema metadata makes `datasets` decode the image column as Image."""
    import pyarrow as pa

    table = pa.table(columns)
    image_column = next(name for name in columns if name not in feature_types)
    features = {image_column: {"_type": "Image"}, **feature_types}
    return table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": features}})})


def _image_column(images: Sequence[bytes]) -> Any:
    import pyarrow as pa

    return pa.array([{"bytes": b, "path": None} for b in images],
                    type=pa.struct([("bytes", pa.binary()), ("path", pa.string())]))


def write_cvqa_parquet(path: Path, rows: Sequence[tuple] = CVQA_ROWS, hidden_labels: bool = True,
                       image_size: int = 64, image_bytes: Sequence[bytes] | None = None, repeat: int = 1) -> Path:
    """CVQA in the schema of HF afaji/cvqa; returns the path. Labels are -1 when `hidden_labels`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = list(rows) * repeat
    images = list(image_bytes) if image_bytes is not None else [
        png_bytes(draw_image(i, image_size)) for i in range(len(rows))]
    string = {"dtype": "string", "_type": "Value"}
    table = _hf_image_table(
        {
            "image": _image_column(images),
            "ID": [f"{1000 + i}_{i % 3}" for i in range(len(rows))],
            "Subset": [str((r[0], r[1])) for r in rows],
            "Question": [r[6] for r in rows],
            "Translated Question": [r[3] for r in rows],
            "Options": pa.array([r[7] for r in rows], type=pa.list_(pa.string())),
            "Translated Options": pa.array([r[4] for r in rows], type=pa.list_(pa.string())),
            "Label": pa.array([-1 if hidden_labels else r[5] for r in rows], type=pa.int64()),
            "Category": [r[2] for r in rows],
            "Image Type": ["Self"] * len(rows),
            "Image Source": ["Self-open"] * len(rows),
            "License": ["CC BY-SA 4.0"] * len(rows),
        },
        {"ID": string, "Subset": string, "Question": string, "Translated Question": string,
         "Options": {"feature": string, "_type": "Sequence"}, "Translated Options": {"feature": string, "_type": "Sequence"},
         "Label": {"dtype": "int64", "_type": "Value"}, "Category": string, "Image Type": string,
         "Image Source": string, "License": string},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # datasets writes image parquet in small row groups (100 rows); so do we, so readers can stream
    pq.write_table(table, path, row_group_size=100)
    return path


def photo_like_jpeg(seed: int, size: int = 256, quality: int = 90) -> bytes:
    """JPEG bytes of shapes plus noise: compresses like a photo (tens of KB at 256x256), unlike flat shapes."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.asarray(draw_image(seed, size), dtype=np.int16) + rng.integers(-40, 40, (size, size, 3))
    return png_bytes(Image.fromarray(np.clip(pixels, 0, 255).astype("uint8")), fmt="JPEG")


def write_cvqa_labels(path: Path, rows: Sequence[tuple] = CVQA_ROWS, repeat: int = 1) -> Path:
    """`ID,Label` CSV matching write_cvqa_parquet's ids."""
    rows = list(rows) * repeat
    lines = ["ID,Label"] + [f"{1000 + i}_{i % 3},{r[5]}" for i, r in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# (country, facet, question, answers)
CULTURALVQA_ROWS: list[tuple[str, str, str, list[str]]] = [
    ("Nigeria", "food", "What is the name of this spicy rice dish?", ["jollof rice", "jollof", "jollof rice"]),
    ("Nigeria", "clothing", "What is the head tie called?", ["gele", "gele", "head wrap"]),
    ("India", "rituals", "What is drawn at the entrance with rice flour?", ["kolam", "kolam", "rangoli"]),
    ("India", "drinks", "What is this spiced tea called?", ["masala chai", "chai", "chai"]),
    ("Iran", "traditions", "What table is set for Nowruz?", ["haft-seen", "haft sin", "haft-seen"]),
    ("Iran", "food", "What is the crispy rice at the bottom of the pot called?", ["tahdig", "tahdig"]),
    ("Turkey", "drinks", "What is this yoghurt drink called?", ["ayran", "ayran", "ayran"]),
    ("Turkey", "traditions", "Is this coffee read for fortune telling?", ["yes", "yes", "yes"]),
]


def write_culturalvqa_parquet(path: Path, rows: Sequence[tuple] = CULTURALVQA_ROWS, image_size: int = 64) -> Path:
    """CulturalVQA in the schema of HF mair-lab/CulturalVQA (image, question, u_id; answers hidden)."""
    import pyarrow.parquet as pq

    string = {"dtype": "string", "_type": "Value"}
    table = _hf_image_table(
        {"image": _image_column([png_bytes(draw_image(100 + i, image_size)) for i in range(len(rows))]),
         "question": [r[2] for r in rows], "u_id": [f"cvqa_{i:04d}" for i in range(len(rows))]},
        {"question": string, "u_id": string},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def write_culturalvqa_labels(path: Path, rows: Sequence[tuple] = CULTURALVQA_ROWS) -> Path:
    lines = [json.dumps({"u_id": f"cvqa_{i:04d}", "answers": r[3], "country": r[0], "facet": r[1]})
             for i, r in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


RAVENEA_DOCS: list[tuple[str, str, str]] = [
    ("enwiki/1001", "Jollof rice", "# Jollof rice\nJollof rice is a rice dish from West Africa. It is cooked in a tomato "
     "and pepper sauce. It is popular in Nigeria and Ghana. Families serve it at parties"),
    ("enwiki/1002", "Gele", "Gele is a Nigerian head tie worn by Yoruba women at ceremonies. It is folded from stiff cloth."),
    ("enwiki/1003", "Dosa", "Dosa is a thin fermented crepe from South India. It is made from rice and black gram batter."),
    ("enwiki/1004", "Holi", "Holi is a Hindu festival of colours celebrated in India in spring."),
    ("enwiki/1005", "Mole", "## History\nMole is a traditional sauce from Mexico. Mole poblano comes from Puebla."),
    ("enwiki/1006", "Day of the Dead", "The Day of the Dead is a Mexican holiday honouring deceased relatives with altars."),
    ("enwiki/1007", "Hanbok", "Hanbok is the traditional clothing of Korea. It has a jacket and a wide skirt."),
    ("enwiki/1008", "Kimchi", "Kimchi is a Korean side dish of salted and fermented vegetables."),
    ("enwiki/1009", "Peking duck", "Peking duck is a dish from Beijing, China, prepared since the imperial era."),
    ("enwiki/1010", "Great Wall", "The Great Wall of China is a series of fortifications across northern China."),
]

# (image stem, country, category, [(question, options, answer)], caption, candidate doc ids, grades)
RAVENEA_IMAGES: list[tuple[str, str, str, list[tuple[str, list[str], str]], str, list[str], list[int]]] = [
    ("cvqa_1_Nigeria_1", "Nigeria", "Cuisine",
     [("What is this dish?", ["A. Jollof rice", "B. Paella", "C. Pilaf", "D. Risotto"], "A")],
     "A plate of Nigerian jollof rice with fried plantain.", ["enwiki/1001", "enwiki/1002", "enwiki/1003"], [3, 1, -2]),
    ("cvqa_2_Nigeria_2", "Nigeria", "Daily Life",
     [("What is the woman wearing on her head?", ["A. Beret", "B. Gele", "C. Hijab", "D. Cap"], "B"),
      ("At which event is it usually worn?", ["A. Funerals only", "B. Sports", "C. Ceremonies", "D. Never"], "C")],
     "A Yoruba woman in a tall gele head tie.", ["enwiki/1002", "enwiki/1001", "enwiki/1004"], [2, 0, -3]),
    ("cvqa_3_India_1", "India", "Cuisine",
     [("What is this food?", ["A. Crepe suzette", "B. Dosa", "C. Tortilla", "D. Naan"], "B")],
     "A crisp South Indian dosa served with chutney.", ["enwiki/1003", "enwiki/1004", "enwiki/1001"], [3, 0, -1]),
    ("cvqa_4_India_2", "India", "Religion",
     [("Which festival is this?", ["A. Holi", "B. Diwali", "C. Onam", "D. Pongal"], "A")],
     "People throwing coloured powder during Holi in India.", ["enwiki/1004", "enwiki/1003", "enwiki/1006"], [3, -1, -3]),
    ("cvqa_5_Mexico_1", "Mexico", "Cuisine",
     [("What sauce covers the chicken?", ["A. Curry", "B. Gravy", "C. Mole", "D. Pesto"], "C")],
     "Chicken in dark mole poblano sauce from Puebla, Mexico.", ["enwiki/1005", "enwiki/1006", "enwiki/1009"], [3, 1, -3]),
    ("cvqa_6_Mexico_2", "Mexico", "History",
     [("What is this altar for?", ["A. Day of the Dead", "B. Christmas", "C. Easter", "D. A wedding"], "A")],
     "A Mexican ofrenda for the Day of the Dead with marigolds.", ["enwiki/1006", "enwiki/1005", "enwiki/1010"], [3, 2, -3]),
    ("ccub_7_Korea_1", "Korea", "Daily Life",
     [("What is this clothing?", ["A. Kimono", "B. Qipao", "C. Hanbok", "D. Sari"], "C")],
     "A girl in a colourful Korean hanbok.", ["enwiki/1007", "enwiki/1008", "enwiki/1010"], [3, 0, -3]),
    ("ccub_8_China_1", "China", "Architecture",
     [("Which structure is this?", ["A. Hadrian's Wall", "B. Great Wall", "C. Berlin Wall", "D. Kremlin wall"], "B")],
     "The Great Wall of China winding over green hills.", ["enwiki/1010", "enwiki/1009", "enwiki/1007"], [3, 1, -2]),
]


def write_ravenea_release(root: Path, image_size: int = 64) -> Path:
    """A RAVENEA v2 release folder: images/, metadata.jsonl, cvqa/cic_downstream.jsonl, wiki_documents.jsonl."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    metadata, cvqa, cic = [], [], []
    for i, (stem, country, category, questions, caption, doc_ids, grades) in enumerate(RAVENEA_IMAGES):
        draw_image(200 + i, image_size).save(root / "images" / f"{stem}.jpg", format="JPEG")
        file_name = f"./ravenea/images/{stem}.jpg"
        task = "cIC" if stem.startswith("ccub") else "cVQA"
        base = {"file_name": file_name, "country": country, "category": category, "task_type": task,
                "enwiki_ids": doc_ids, "culture_relevance": grades}
        metadata.append(base)
        cvqa.append({**base, "questions": [q for q, _o, _a in questions], "options": [o for _q, o, _a in questions],
                     "answers": [a for _q, _o, a in questions], "human_captions": caption, "generate_caption": ""})
        cic.append({**base, "human_captions": caption})
    documents = [{"id": d, "title": t, "text": x, "url": f"https://en.wikipedia.org/wiki/{t.replace(' ', '_')}",
                  "date_modified": "2024-01-01"} for d, t, x in RAVENEA_DOCS]
    for name, rows in (("metadata.jsonl", metadata), ("metadata_test.jsonl", metadata),
                       ("cvqa_downstream.jsonl", cvqa), ("cic_downstream.jsonl", cic),
                       ("wiki_documents.jsonl", documents)):
        (root / name).write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return root


# (question_id, question, answer, countries, regions) in the schema of HF floschne/gimmick-sivqa
GIMMICK_SIVQA_ROWS: list[tuple[str, str, str, list[str], list[str]]] = [
    ("demo-q1", "What garment is this?", "Hanbok", ["Republic of Korea"], ["Asian and Pacific States"]),
    ("demo-q2", "What festival is shown?", "Nowruz", ["Iran (Islamic Republic of)", "Iraq"],
     ["Asian and Pacific States", "Arab States"]),
    ("demo-q3", "What dance is this?", "Flamenco", ["Spain"], ["Western European and North American States"]),
    ("demo-q4", "What is this shadow theatre called?", "Wayang", ["Indonesia"], ["Asian and Pacific States"]),
    ("demo-q5", "Which carnival is this?", "Carnival of Barranquilla", ["Colombia"],
     ["Latin-American and Caribbean States"]),
    ("demo-q6", "What is this Ethiopian festival?", "Meskel", ["Ethiopia"], ["Subsaharian African States"]),
]


def write_gimmick_sivqa_parquet(path: Path, rows: Sequence[tuple] = GIMMICK_SIVQA_ROWS, image_size: int = 64) -> Path:
    """GIMMICK single-image VQA in the columns the official code reads (question_id, question, answer,
    countries, regions, ich_image)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    string = {"dtype": "string", "_type": "Value"}
    table = _hf_image_table(
        {"ich_image": _image_column([png_bytes(draw_image(300 + i, image_size)) for i in range(len(rows))]),
         "question_id": [r[0] for r in rows], "question": [r[1] for r in rows], "answer": [r[2] for r in rows],
         "countries": pa.array([r[3] for r in rows], type=pa.list_(pa.string())),
         "regions": pa.array([r[4] for r in rows], type=pa.list_(pa.string()))},
        {"question_id": string, "question": string, "answer": string,
         "countries": {"feature": string, "_type": "Sequence"}, "regions": {"feature": string, "_type": "Sequence"}},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=100)
    return path
