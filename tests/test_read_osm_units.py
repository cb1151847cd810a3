"""Unit tests of the OSM reader: its pure helpers and the tag rules on small synthetic .osm XML files.

The real extract is covered by tests/test_import_real_data.py; here every rule of osm_tags.yaml is exercised
on hand-made objects whose expected result is known exactly.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import pytest

from netzatlas.errors import FileFormatError, InvalidParameter
from netzatlas.registry.importers import osm
from netzatlas.registry.importers.osm import LAYERS, parse_number, read_osm, split_housenumber

CFG = osm.load_tag_mapping()


# ---------------------------------------------------------------- pure helpers
@pytest.mark.parametrize(("value", "expected"), [
    ("12", 12.0), ("12 m", 12.0), ("12m", 12.0), ("12,5", 12.5), ("12.5 m", 12.5), ("~10", 10.0), ("-3", -3.0),
    ("3;4", 3.0), ("yes", None), ("", None), (None, None), ("unknown", None),
])
def test_parse_number(value: str | None, expected: float | None) -> None:
    assert parse_number(value) == expected


def test_parse_number_leading_decimal_point() -> None:
    assert parse_number(".5") == 0.5


@pytest.mark.parametrize(("value", "expected"), [
    ("12", ("12", None)), ("12a", ("12", "a")), ("12 A", ("12", "a")), (" 7b ", ("7", "b")),
    ("12-14", ("12-14", None)), ("12–14", ("12–14", None)),    # ranges stay one number
    ("3/1", ("3", "/1")), ("12 / 3", ("12", "/3")), ("0", ("0", None)),
    ("12a-c", ("12a-c", None)), ("A", ("A", None)),            # anything else is kept whole, without a suffix
])
def test_split_housenumber(value: str, expected: tuple[str, str | None]) -> None:
    assert split_housenumber(value) == expected


@pytest.mark.parametrize(("tags", "expected"), [
    ({"building": "yes", "height": "12 m"}, (12.0, "height", None)),
    ({"building": "yes", "height": "12,5", "building:levels": "3"}, (12.5, "height", 3)),
    ({"building": "yes", "building:levels": "3"}, (3 * 3.0 + 1.0, "levels", 3)),
    ({"building": "yes", "building:levels": "2.5"}, (2.5 * 3.0 + 1.0, "levels", 2)),
    ({"building": "yes", "height": "0", "building:levels": "2"}, (7.0, "levels", 2)),   # height 0 is no height
    ({"building": "yes", "height": "500"}, (9.0, "default", None)),                      # implausible height
    ({"building": "yes", "height": "yes"}, (9.0, "default", None)),
    ({"building": "yes", "building:levels": "0"}, (9.0, "default", None)),
    ({"building": "yes", "building:levels": "-1"}, (9.0, "default", None)),
    ({"building": "garage"}, (3.0, "default", None)),
    ({"building": "shed", "building:levels": "1"}, (4.0, "levels", 1)),                  # levels beat the type
    ({"building": "yes"}, (9.0, "default", None)),
])
def test_building_height(tags: dict[str, str], expected: tuple[float, str, int | None]) -> None:
    height, source, levels = osm._building_height(tags, CFG)
    assert (height, source, levels) == expected
    assert math.isfinite(height) and height > 0


def test_height_rule_constants_are_the_documented_ones() -> None:
    assert (CFG["storey_height_m"], CFG["roof_allowance_m"], CFG["default_height_m"]) == (3.0, 1.0, 9.0)
    assert CFG["small_building_height_m"] == 3.0 and "garage" in CFG["small_building_types"]


@pytest.mark.parametrize(("tags", "cond", "expected"), [
    ({"highway": "street_lamp"}, {"highway": ["street_lamp"]}, True),
    ({"highway": "bus_stop"}, {"highway": ["street_lamp"]}, False),
    ({}, {"highway": ["street_lamp"]}, False),
    ({"highway": "pedestrian", "area": "yes"}, {"highway": ["pedestrian"], "area": ["yes"]}, True),
    ({"highway": "pedestrian"}, {"highway": ["pedestrian"], "area": ["yes"]}, False),   # all conditions must hold
    ({"amenity": "anything"}, {"amenity": ["*"]}, True),
    ({"tower:type": "communication"}, [{"man_made": ["mast"]}, {"tower:type": ["communication"]}], True),
    ({"man_made": "chimney"}, [{"man_made": ["mast"]}, {"tower:type": ["communication"]}], False),
])
def test_matches(tags: dict[str, str], cond: dict | list, expected: bool) -> None:
    assert osm._matches(tags, cond) is expected


@pytest.mark.parametrize(("tags", "category"), [
    ({"leisure": "park"}, "park"), ({"place": "square"}, "square"),
    ({"highway": "pedestrian", "area": "yes"}, "square"), ({"highway": "pedestrian"}, None),
    ({"leisure": "playground"}, "playground"), ({"railway": "station"}, "railway_station"),
    ({"railway": "halt"}, "railway_station"), ({"railway": "tram_stop"}, "tram_stop"),
    ({"highway": "bus_stop"}, "bus_stop"), ({"public_transport": "platform"}, None),
    ({"public_transport": "stop_position", "bus": "yes"}, None),
    ({"amenity": "university"}, "university"), ({"amenity": "college"}, "college"), ({"amenity": "school"}, "school"),
    ({"amenity": "kindergarten"}, "kindergarten"), ({"amenity": "childcare"}, "kindergarten"),
    ({"amenity": "hospital"}, "hospital"), ({"amenity": "library"}, "library"), ({"amenity": "townhall"}, "townhall"),
    ({"office": "government"}, "townhall"), ({"amenity": "nursing_home"}, "care_home"),
    ({"social_facility": "assisted_living"}, "care_home"),
    ({"social_facility": "shelter", "social_facility:for": "refugees"}, "refugee_housing"),
    ({"social_facility": "shelter", "social_facility:for": "homeless"}, None),
    ({"amenity": "theatre"}, "cultural_venue"), ({"tourism": "museum"}, "cultural_venue"),
    ({"building": "civic"}, "public_building"),
    ({"amenity": "school", "building": "public"}, "school"),   # the first rule that matches wins
    ({"amenity": "cafe"}, None),
])
def test_poi_category(tags: dict[str, str], category: str | None) -> None:
    assert osm._poi_category(tags, CFG["poi"]) == category


@pytest.mark.parametrize(("tags", "expected"), [
    ({"socket:type2:output": "22 kW", "socket:chademo:output": "50 kW"}, 50.0),
    ({"socket:type2:output": "11"}, 11.0),
    ({"charging_station:output": "150 kW"}, 150.0),
    ({"socket:type2:output": "22 kW", "charging_station:output": "150 kW"}, 22.0),   # sockets first
    ({"socket:type2": "2"}, None),
    ({}, None),
])
def test_max_kw(tags: dict[str, str], expected: float | None) -> None:
    assert osm._max_kw(tags) == expected


def test_max_kw_unreadable_output_is_unknown() -> None:
    assert osm._max_kw({"charging_station:output": "yes"}) is None


def test_max_kw_multi_value() -> None:
    assert osm._max_kw({"socket:type2:output": "11;22"}) == 22.0


@pytest.mark.parametrize(("tags", "expected"), [
    ({"amenity": "school"}, "school"), ({"amenity": "hospital"}, "hospital"),
    ({"amenity": "kindergarten"}, "kindergarten"), ({"office": "government"}, "public_admin"),
    ({"shop": "bakery"}, "business"), ({"craft": "carpenter"}, "business"), ({"office": "company"}, "business"),
    ({"building": "house"}, None),
])
def test_socio_economic(tags: dict[str, str], expected: str | None) -> None:
    assert osm._socio_economic(tags) == expected


# ---------------------------------------------------------------- synthetic .osm files
class OsmXml:
    """A tiny OSM XML writer: nodes, ways (closed squares) and relations with tags."""

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.ways: list[str] = []
        self.relations: list[str] = []
        self._next = 1_000_000

    @staticmethod
    def _tags(tags: dict[str, str]) -> str:
        return "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())

    def node(self, nid: int, lat: float, lon: float, **tags: str) -> int:
        self.nodes.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}">{self._tags(tags)}</node>')
        return nid

    def way(self, wid: int, coords: list[tuple[float, float]], tags: dict[str, str], closed: bool = False) -> int:
        refs = []
        for lat, lon in coords:
            self._next += 1
            refs.append(self.node(self._next, lat, lon))
        if closed:
            refs.append(refs[0])
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        self.ways.append(f'<way id="{wid}" version="1">{nds}{self._tags(tags)}</way>')
        return wid

    def square(self, wid: int, lat: float, lon: float, tags: dict[str, str], size: float = 0.0002) -> int:
        return self.way(wid, [(lat, lon), (lat, lon + size), (lat + size, lon + size), (lat + size, lon)], tags,
                        closed=True)

    def relation(self, rid: int, outer_way: int, tags: dict[str, str]) -> int:
        member = f'<member type="way" ref="{outer_way}" role="outer"/>'
        self.relations.append(f'<relation id="{rid}" version="1">{member}{self._tags(tags)}</relation>')
        return rid

    def write(self, path: Path) -> Path:
        body = "\n".join(self.nodes + self.ways + self.relations)
        path.write_text(f"<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\" generator=\"test\">\n"
                        f"{body}\n</osm>\n", encoding="utf-8")
        return path


def _city() -> OsmXml:
    x = OsmXml()
    # street lamps
    x.node(1, 50.7750, 6.0800, highway="street_lamp", height="6 m", lamp_type="electric")
    x.node(2, 50.7751, 6.0800, highway="street_lamp")
    # charging stations
    x.node(3, 50.7752, 6.0801, amenity="charging_station", capacity="4", operator="STAWAG",
           **{"socket:type2:output": "22 kW", "addr:street": "Pontdriesch", "addr:housenumber": "4"})
    x.node(4, 50.7753, 6.0802, amenity="charging_station", **{"socket:type2_combo:output": "150 kW"})
    x.node(5, 50.7754, 6.0803, amenity="charging_station")
    # masts and towers
    x.node(6, 50.7760, 6.0900, man_made="mast", height="30")
    x.node(7, 50.7761, 6.0900, man_made="tower", **{"tower:type": "communication", "operator": "Vodafone"})
    x.node(8, 50.7762, 6.0900, **{"communication:mobile_phone": "yes"})
    x.node(9, 50.7763, 6.0900, man_made="chimney")
    # WLAN
    x.node(10, 50.7770, 6.0810, amenity="cafe", internet_access="wlan", **{"internet_access:ssid": "Cafe-Gast"})
    x.node(11, 50.7771, 6.0811, leisure="park", internet_access="yes",
           **{"internet_access:operator": "Stadt Aachen"})
    x.node(12, 50.7772, 6.0812, amenity="library", internet_access="no")
    # transit: one bus stop mapped three ways (stop node, platform, stop position) counts once
    x.node(13, 50.7780, 6.0820, highway="bus_stop", public_transport="platform", name="Elisenbrunnen")
    x.node(14, 50.7781, 6.0821, public_transport="stop_position", bus="yes", name="Elisenbrunnen")
    x.node(15, 50.7782, 6.0822, public_transport="platform", bus="yes", name="Elisenbrunnen")
    x.node(16, 50.7783, 6.0823, railway="tram_stop")
    # addresses: node 20 and building way 100 share one address → one row (the node)
    x.node(20, 50.77605, 6.08105, shop="bakery",
           **{"addr:street": "Teststraße", "addr:housenumber": "12a", "addr:postcode": "52062"})
    x.square(100, 50.7760, 6.0810, {"building": "yes", "addr:street": "Teststraße", "addr:housenumber": "12a",
                                    "addr:postcode": "52062"})
    x.square(101, 50.7790, 6.0850, {"building": "house", "building:levels": "2", "addr:street": "Teststraße",
                                    "addr:housenumber": "12-14", "addr:postcode": "52062", "addr:city": "Aachen"})
    x.square(102, 50.7795, 6.0850, {"building": "yes", "addr:place": "Hof Linde", "addr:housenumber": "3"})
    x.node(21, 50.7799, 6.0860, **{"addr:street": "Teststraße", "addr:housenumber": "7 B"})
    # buildings: a garage, building=no, a multipolygon relation
    x.square(103, 50.7800, 6.0870, {"building": "garage"})
    x.square(104, 50.7805, 6.0870, {"building": "no"})
    outer = x.square(105, 50.7810, 6.0870, {})
    x.relation(900, outer, {"type": "multipolygon", "building": "school", "amenity": "school", "height": "15",
                            "name": "Schule am Test"})
    # areas: a park (about 0.001° × 0.001°) and a pedestrian square
    x.square(106, 50.7820, 6.0880, {"leisure": "park", "name": "Testpark"}, size=0.001)
    x.square(107, 50.7840, 6.0880, {"highway": "pedestrian", "area": "yes", "name": "Markt"})
    # roads
    x.way(200, [(50.7700, 6.0700), (50.7705, 6.0710)], {"highway": "residential", "name": "Teststraße"})
    x.way(201, [(50.7710, 6.0700), (50.7715, 6.0710)], {"highway": "proposed"})
    x.way(202, [(50.7720, 6.0700), (50.7725, 6.0710)], {"highway": "footway"})
    x.way(203, [(50.7730, 6.0700), (50.7730, 6.0710), (50.7735, 6.0710)], {"highway": "primary",
                                                                           "junction": "roundabout"}, closed=True)
    x.way(204, [(50.7740, 6.0700), (50.7745, 6.0710)], {"waterway": "stream"})
    return x


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, gpd.GeoDataFrame]:
    calls: list[tuple[int, int | None]] = []
    out = read_osm(_city().write(tmp_path_factory.mktemp("osm") / "city.osm"),
                   progress=lambda done, total: calls.append((done, total)))
    out["_progress"] = calls  # type: ignore[assignment]
    return out


def _missing(value: object) -> bool:
    """None, or NaN (missing values still come back as NaN in some columns: see test_missing_text_is_none)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _row(gdf: gpd.GeoDataFrame, external_id: str) -> dict:
    (row,) = gdf[gdf["external_id"] == external_id].to_dict("records")
    return row


def test_every_layer_comes_back(frames: dict) -> None:
    assert [k for k in frames if k != "_progress"] == list(LAYERS)
    for name in LAYERS:
        gdf = frames[name]
        assert gdf.crs.to_epsg() == 4326, name
        assert gdf["external_id"].is_unique, name
    assert frames["_progress"][-1][0] == frames["_progress"][-1][1] > 0   # the last call says "done"


def test_streetlights(frames: dict) -> None:
    gdf = frames["streetlight"]
    assert sorted(gdf["external_id"]) == ["node/1", "node/2"]
    one = _row(gdf, "node/1")
    assert one["height_m"] == 6.0 and one["lamp_type"] == "electric" and one["permanent_power"] is None
    assert one["properties"] == {"highway": "street_lamp", "height": "6 m", "lamp_type": "electric"}
    assert (one["geometry"].x, one["geometry"].y) == (6.08, 50.775)


def test_charging_points(frames: dict) -> None:
    gdf = frames["charging_point"]
    assert sorted(gdf["external_id"]) == ["node/3", "node/4", "node/5"]
    stawag, hpc, bare = (_row(gdf, f"node/{i}") for i in (3, 4, 5))
    assert (stawag["charge_points"], stawag["power_kw"], stawag["charger_type"]) == (4, 22.0, "normal")
    assert (stawag["operator"], stawag["address"]) == ("STAWAG", "Pontdriesch 4")
    assert (hpc["charge_points"], hpc["power_kw"], hpc["charger_type"]) == (1, 150.0, "fast")   # no capacity: 1
    assert _missing(bare["charger_type"]) and _missing(bare["power_kw"]) and bare["charge_points"] == 1


def test_mobile_sites(frames: dict) -> None:
    gdf = frames["mobile_site"]
    assert sorted(gdf["external_id"]) == ["node/6", "node/7", "node/8"]          # not the chimney
    mast, tower, antenna = (_row(gdf, f"node/{i}") for i in (6, 7, 8))
    assert (mast["site_type"], mast["is_mobile"], mast["height_m"]) == ("mast", False, 30.0)
    assert (tower["site_type"], tower["is_mobile"], tower["operator"]) == ("tower", True, "Vodafone")
    assert (antenna["site_type"], antenna["is_mobile"]) == ("other", True)
    assert "height_m" in tower["assumed"] and "height_m" not in mast["assumed"]


def test_wlan_hotspots(frames: dict) -> None:
    gdf = frames["wlan_hotspot"]
    assert sorted(gdf["external_id"]) == ["node/10", "node/11"]                 # internet_access=no is not a hotspot
    cafe, park = _row(gdf, "node/10"), _row(gdf, "node/11")
    assert (cafe["ap_class"], cafe["ssid"]) == ("indoor", "Cafe-Gast")
    assert (park["ap_class"], park["operator"]) == ("outdoor", "Stadt Aachen")


def test_pois(frames: dict) -> None:
    gdf = frames["poi"]
    cats = dict(zip(gdf["external_id"], gdf["category"], strict=True))
    assert cats == {"node/11": "park", "node/12": "library", "node/13": "bus_stop", "node/16": "tram_stop",
                    "relation/900": "school", "way/106": "park", "way/107": "square"}
    assert list(gdf["category"]).count("bus_stop") == 1                        # stop, platform, stop position
    park = _row(gdf, "way/106")
    assert park["geometry"].geom_type == "Point"
    # 0.001° × 0.001° at 50.78° N: about 111 m × 70.5 m
    assert park["area_m2"] == pytest.approx(111.2 * 70.4, rel=0.02)
    node = _row(gdf, "node/13")
    assert _missing(node["area_m2"])
    assert node["name"] == "Elisenbrunnen"


def test_addresses(frames: dict) -> None:
    gdf = frames["fibre_address"]
    assert sorted(gdf["external_id"]) == ["node/20", "node/21", "node/3", "way/101", "way/102"]
    bakery = _row(gdf, "node/20")                       # the node wins over its building (way/100)
    assert (bakery["street"], bakery["house_number"], bakery["house_number_suffix"]) == ("Teststraße", "12", "a")
    assert bakery["is_business"] is True and bakery["socio_economic"] == "business"
    rng = _row(gdf, "way/101")
    assert (rng["house_number"], rng["city"]) == ("12-14", "Aachen")
    assert rng["is_business"] is False
    assert rng["geometry"].geom_type == "Point"
    assert rng["geometry"].within(_square_polygon(50.7790, 6.0850))           # representative point of the area
    assert _row(gdf, "way/102")["street"] == "Hof Linde"                      # addr:place when no street
    assert (_row(gdf, "node/21")["house_number"], _row(gdf, "node/21")["house_number_suffix"]) == ("7", "b")


def _square_polygon(lat: float, lon: float, size: float = 0.0002):
    import shapely

    return shapely.box(lon, lat, lon + size, lat + size)


def test_buildings(frames: dict) -> None:
    gdf = frames["building"]
    assert sorted(gdf["external_id"]) == ["relation/900", "way/100", "way/101", "way/102", "way/103"]
    assert (gdf.geometry.geom_type == "MultiPolygon").all()
    school = _row(gdf, "relation/900")
    assert (school["height_m"], school["height_source"], school["building_type"]) == (15.0, "height", "school")
    assert school["name"] == "Schule am Test"
    house = _row(gdf, "way/101")
    assert (house["height_m"], house["height_source"], house["levels"]) == (7.0, "levels", 2)
    garage = _row(gdf, "way/103")
    assert (garage["height_m"], garage["height_source"]) == (3.0, "default")
    assert gdf["height_m"].notna().all()


def test_roads(frames: dict) -> None:
    gdf = frames["road"]
    assert sorted(gdf["external_id"]) == ["way/200", "way/202", "way/203"]       # not proposed, not the square
    assert (gdf.geometry.geom_type == "LineString").all()
    assert dict(zip(gdf["external_id"], gdf["highway"], strict=True)) == {
        "way/200": "residential", "way/202": "footway", "way/203": "primary"}
    assert _row(gdf, "way/200")["name"] == "Teststraße"


# ---------------------------------------------------------------- known gaps (fixes proposed to the lead)
def test_address_without_street_far_apart(tmp_path: Path) -> None:
    """Two buildings 1.5 km apart, both only "5" (no street, no postcode)."""
    x = OsmXml()
    x.square(1, 50.7700, 6.0700, {"building": "house", "addr:housenumber": "5"})
    x.square(2, 50.7800, 6.0900, {"building": "house", "addr:housenumber": "5"})
    gdf = read_osm(x.write(tmp_path / "a.osm"), layers=["fibre_address"])["fibre_address"]
    assert len(gdf) == 2


def test_address_duplicate_keeps_the_building_category(tmp_path: Path) -> None:
    x = OsmXml()
    x.node(1, 50.77605, 6.08105, entrance="main", **{"addr:street": "Schulweg", "addr:housenumber": "1"})
    x.square(2, 50.7760, 6.0810, {"building": "school", "amenity": "school", "addr:street": "Schulweg",
                                  "addr:housenumber": "1"})
    gdf = read_osm(x.write(tmp_path / "a.osm"), layers=["fibre_address"])["fibre_address"]
    assert len(gdf) == 1 and gdf.iloc[0]["socio_economic"] == "school"


def test_missing_text_is_none(frames: dict) -> None:
    gdf = frames["fibre_address"]
    assert _row(gdf, "way/102")["postcode"] is None


def test_empty_layer_has_its_columns(tmp_path: Path) -> None:
    x = OsmXml()
    x.node(1, 50.775, 6.08, highway="street_lamp")
    gdf = read_osm(x.write(tmp_path / "a.osm"), layers=["charging_point"])["charging_point"]
    assert {"operator", "charge_points", "power_kw", "properties"} <= set(gdf.columns)


# ---------------------------------------------------------------- arguments and bad files
def test_layer_subset(tmp_path: Path) -> None:
    out = read_osm(_city().write(tmp_path / "c.osm"), layers=["road", "streetlight"])
    assert list(out) == ["streetlight", "road"]
    assert len(out["streetlight"]) == 2


def test_unknown_layer(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match=r"unknown OSM layer\(s\) \['roads'\]") as err:
        read_osm(_city().write(tmp_path / "c.osm"), layers=["roads"])
    assert "fibre_address" in str(err.value)                                    # the hint lists the known layers


@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.osm.pbf", None, "missing.osm.pbf: no such file"),
    ("empty.osm.pbf", b"", r"empty.osm.pbf: the file is empty \(0 bytes\)"),
    ("garbage.osm.pbf", b"garbage\x00\x01", "garbage.osm.pbf: not a readable OSM file"),
    ("truncated.osm", b"<osm>\n", "truncated.osm: not a readable OSM file"),
])
def test_bad_files(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FileFormatError, match=message):
        read_osm(path)


def test_way_with_missing_nodes_is_skipped(tmp_path: Path) -> None:
    """An object cut by the extract's edge (a node it references is absent) is left out, the rest is read."""
    x = OsmXml()
    x.way(1, [(50.77, 6.07), (50.771, 6.071)], {"highway": "residential"})
    x.ways.append('<way id="2" version="1"><nd ref="424242"/><nd ref="424243"/><tag k="highway" v="service"/></way>')
    gdf = read_osm(x.write(tmp_path / "cut.osm"), layers=["road"])["road"]
    assert list(gdf["external_id"]) == ["way/1"]
