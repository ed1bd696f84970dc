"""RegionScore and the shipped country table."""

import pytest

from vlmcult.metrics.regions import (
    RAVENEA_TERMS,
    canonical_country,
    country_terms,
    region_hit,
    region_score,
    region_table,
    unknown_countries,
)

# floschne/gimmick src/gimmick/utils/ich.py@be2d16b, ICH_REGIONS_TO_COUNTRIES (all countries).
GIMMICK_COUNTRIES = """Algeria|Tunisia|Saudi Arabia|Yemen|Syria|Egypt|Bahrain|Qatar|Palestine|Sudan|Mauritania|Morocco|
Lebanon|Kuwait|Jordan|Iraq|Oman|United Arab Emirates|Afghanistan|Papua New Guinea|Philippines|
Timor-Leste|Samoa|Sri Lanka|Bhutan|Kazakhstan|China|Korea|Bangladesh|Cambodia|Cook Islands|Pakistan|
Australia|Tonga|Thailand|Nepal|New Zealand|Fiji|India|Indonesia|Japan|Singapore|Vietnam|Kyrgyzstan|
Iran|Lao|Vanuatu|Malaysia|Turkmenistan|Micronesia|Mongolia|Myanmar|Bosnia and Herzegovina|
Uzbekistan|Lithuania|Hungary|Croatia|Serbia|Estonia|Georgia|Ukraine|Moldova|Montenegro|Albania|
Bulgaria|Slovakia|Poland|Armenia|Belarus|Tajikistan|Azerbaijan|Czechia|Latvia|North Macedonia|
Russia|Romania|Slovenia|Argentina|Jamaica|Guatemala|Colombia|Grenada|
Saint Vincent and the Grenadines|Curaçao|Chile|Bolivia|Uruguay|Bahamas|Venezuela|
Antigua and Barbuda|Haiti|Brazil|Saint Kitts and Nevis|Honduras|Ecuador|El Salvador|Mexico|
Dominican Republic|Costa Rica|Paraguay|Panama|Nicaragua|Belize|Cuba|Peru|Lesotho|Nigeria|Cameroon|
Madagascar|Malawi|Guinea|Ethiopia|Niger|Mauritius|Mali|Djibouti|Côte d'Ivoire|Botswana|Cabo Verde|
Eritrea|Burundi|Burkina Faso|Namibia|Central African Republic|Democratic Republic of the Congo|
Zimbabwe|Kenya|Angola|Seychelles|Senegal|Togo|Chad|Zambia|Rwanda|Benin|South Africa|Eswatini|
Mozambique|South Sudan|Congo|Ghana|Gambia|Gabon|Somalia|Uganda|Sweden|Canada|Luxembourg|
United Kingdom of Great Britain and Northern Ireland|Netherlands|Portugal|Belgium|Switzerland|Malta|
Cyprus|France|Iceland|Ireland|Norway|Finland|Spain|Andorra|Türkiye|Denmark|Germany|Greece|Italy|
Austria"""
# GIMMICK's ALTERNATIVE_COUNTRY_NAMES keys (UNESCO spellings) that differ from the names above.
GIMMICK_UNESCO_NAMES = [
    "Bolivia (Plurinational State of)",
    "Republic of Korea",
    "Russian Federation",
    "Viet Nam",
    "Iran (Islamic Republic of)",
    "Venezuela (Bolivarian Republic of)",
    "Republic of Moldova",
    "Democratic People's Republic of Korea",
    "Lao People's Democratic Republic",
    "Syrian Arab Republic",
    "Micronesia (Federated States of)",
]
# CVQA country-language subsets, CulturalVQA's 11 countries, RAVENEA's 8, CUBE-1K's 8.
CVQA_COUNTRIES = [
    "Ethiopia",
    "India",
    "China",
    "Egypt",
    "Argentina",
    "Brazil",
    "Bulgaria",
    "Chile",
    "Colombia",
    "Ecuador",
    "France",
    "Indonesia",
    "Ireland",
    "Japan",
    "Kenya",
    "South Korea",
    "Malaysia",
    "Mexico",
    "Mongolia",
    "Morocco",
    "Nigeria",
    "Norway",
    "Pakistan",
    "Philippines",
    "Portugal",
    "Romania",
    "Russia",
    "Rwanda",
    "Singapore",
    "Spain",
    "Sri Lanka",
    "Uruguay",
]
CULTURALVQA_COUNTRIES = [
    "USA",
    "Canada",
    "Brazil",
    "Germany",
    "India",
    "China",
    "Turkey",
    "Nigeria",
    "Iran",
    "Ethiopia",
    "Rwanda",
]
RAVENEA_COUNTRIES = ["China", "India", "Indonesia", "Korea", "Mexico", "Nigeria", "Russia", "Spain"]
CUBE_COUNTRIES = ["India", "Italy", "Japan", "Turkey", "France", "United States", "Brazil", "Nigeria"]


def test_table_covers_every_benchmark_country() -> None:
    gimmick = [name.strip() for name in GIMMICK_COUNTRIES.replace("\n", "").split("|")]
    assert len(set(gimmick)) == 168  # the region table lists 168; the data uses 144 of them
    everything = (
        gimmick + GIMMICK_UNESCO_NAMES + CVQA_COUNTRIES + CULTURALVQA_COUNTRIES + RAVENEA_COUNTRIES + CUBE_COUNTRIES
    )
    assert unknown_countries(everything) == []
    assert len(region_table()) >= 195  # 193 UN members + 2 observer states


def test_aliases_resolve_to_one_country() -> None:
    assert canonical_country("Republic of Korea") == "Korea"
    assert canonical_country("South Korea") == "Korea"
    assert canonical_country("Korea_seoul") == "Korea"  # RAVENEA's Country_suffix
    assert canonical_country("Turkey") == canonical_country("Türkiye") == "Türkiye"
    assert canonical_country("USA") == "United States"
    assert canonical_country("Narnia") is None


def test_official_table_is_ravenea_exactly() -> None:
    assert RAVENEA_TERMS["China"] == ["Chinese", "Shanghai", "Beijing"]
    assert country_terms("Korea", "official") == ["Korean", "Seoul", "Korea"]
    # Substring, case-insensitive, as RAVENEA: "Indian" hits, and so does "INDIANA".
    assert region_hit("Women in INDIANA", "India", "official") == 1.0
    assert region_hit("A street in Mumbai", "India", "official") == 0.0  # not in RAVENEA's list
    assert region_hit("anything", "Spain", "official") is None  # not one of RAVENEA's five


def test_extended_table_matches_whole_words() -> None:
    assert region_hit("A woman in a red dress", "Oman") == 0.0  # no substring hit
    assert region_hit("Omani men in Muscat", "Oman") == 1.0
    assert region_hit("Koreans in hanbok", "Korea") == 1.0  # plural demonym
    assert region_hit("A street in Mumbai", "India") == 1.0  # city
    assert region_hit("Nigerian food", "Niger") == 0.0
    assert region_hit("a caption", "Narnia") is None


def test_region_score_mean_over_known_countries() -> None:
    captions = ["Chinese lanterns", "a bowl of noodles", "Seoul at night", "tacos", "mystery"]
    countries = ["China", "China", "Korea", "Mexico", "Narnia"]
    # hits 1, 0, 1, 0 over the 4 known countries; Narnia is left out.
    assert region_score(captions, countries) == pytest.approx(0.5)
    assert region_score(captions[:4], countries[:4], "official") == pytest.approx(0.5)
