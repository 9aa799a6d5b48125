"""A district server cascaded under its province's: two ``giaoban serve``, each on its own embedded store, as on two
machines; the district's has the province's as upstream, and both share the cluster secret.

The province plans the meeting (its store has the meetings and the links); the chair joins the province's server,
communes join the district's with the province's links: the province admits them over the district server's
uplink, and the chair's picture crosses from province to district once, over a node link, for both communes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, CookieJar, WSServerHandshakeError

from tests.cascade import DISTRICT_NODE, SECRET, Cascade, cascaded, listed
from tests.live import Node, Server
from tests.service.test_cluster import MEDIA_PORTS, decoded, join, metrics, node_clips, node_link_datagrams
from web.bench.clips import Clip
from web.bench.endpoint import SyntheticEndpoint
from web.bench.province import plan_demo_meeting

COMMUNES = ["bac-ha.na-hoi", "bac-ha.ta-chai"]


@pytest.fixture(scope="module")
def clips() -> dict[str, Clip]:
    return node_clips()


@pytest.fixture
def cascade(tmp_path: Path) -> Iterator[Cascade]:
    with cascaded(tmp_path, "--media-ports", f"{MEDIA_PORTS[0]}-{MEDIA_PORTS[1]}", "--log-level", "INFO") as made:
        yield made


async def test_communes_of_a_district_server_see_the_chair_through_one_copy_from_the_province(
    cascade: Cascade, clips: dict[str, Clip]
) -> None:
    nodes = listed(cascade.province_dir)
    assert f"district server {cascade.district.base}, linked through province" in nodes, nodes
    endpoints: list[SyntheticEndpoint] = []
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        links = await plan_demo_meeting(http, cascade.province.base, COMMUNES, title="Giao ban tỉnh – huyện Bắc Hà")
        chair_endpoint = SyntheticEndpoint("chair", clips)
        endpoints.append(chair_endpoint)
        chair = await join(http, cascade.province, links["laocai"], chair_endpoint)
        communes = []
        try:
            for unit in COMMUNES:
                endpoint = SyntheticEndpoint("participant", clips, keep_video=True)
                endpoints.append(endpoint)
                communes.append(await join(http, cascade.district, links[unit], endpoint))
            assert [c.welcome["unit"] for c in communes] == COMMUNES
            assert communes[0].welcome["meeting"]["title"] == "Giao ban tỉnh – huyện Bắc Hà"
            datagrams = await asyncio.to_thread(node_link_datagrams, 3.0)
            for endpoint in endpoints[1:]:
                assert decoded(endpoint.kept["chair-video"]) >= 20, endpoint.received  # ~30 fps for 3 s and more
                assert endpoint.received["chair-audio"] >= 50, endpoint.received

            # the room is the province's; the district server is an edge of it
            province, district = await metrics(cascade.province), await metrics(cascade.district)
            assert province['giaoban_node_rooms{as="origin"}'] == 1, province
            assert district['giaoban_node_rooms{as="edge"}'] == 1, district
            assert district['giaoban_node_rooms{as="origin"}'] == 0, district
            # the chair's voice and sizes cross to the district once, for both communes
            assert district['giaoban_node_link_publications{direction="in"}'] == 4, district
            assert province['giaoban_node_link_publications{direction="out"}'] == 4, province
            assert 0 < province['giaoban_node_link_rtt_seconds{node="district-bac-ha"}'] < 0.5, province

            # the chair's console counts them in, and the floor reaches the chair from the district
            await chair.ws.send_json({"type": "give-floor", "unit": COMMUNES[0]})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and chair_endpoint.received["floor-video"] < 20:
                await asyncio.sleep(0.2)
            assert chair_endpoint.received["floor-video"] >= 20, chair_endpoint.received
            states = [m for m in chair.messages if m["type"] == "state"]
            assert {COMMUNES[0]} == set(states[-1]["floor"]), states[-1]
        finally:
            for endpoint in endpoints:
                await endpoint.close()
    # media between the two servers is SRTP: RTP-shaped, and not a VP8 key frame's header readable in it
    media = [d for d in datagrams if len(d) > 100 and d[0] >> 6 == 2 and not 192 <= d[1] <= 223]
    assert len(media) > 100, len(datagrams)
    assert not any(b"\x9d\x01\x2a" in d[12:64] for d in media)


async def test_a_link_the_district_server_cannot_vouch_for_is_refused_there(cascade: Cascade) -> None:
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        links = await plan_demo_meeting(http, cascade.province.base, COMMUNES[:1], title="Giao ban")
        forged = links[COMMUNES[0]][:-3] + "AAA"  # a link whose signature does not hold
        async with http.ws_connect(cascade.district.ws) as ws:
            await ws.send_json({"type": "join", "token": forged.rsplit("/", 1)[1], "name": "Cán bộ"})
            error = await asyncio.wait_for(ws.receive_json(), 10)
        assert error["type"] == "error" and error["code"] == "not_authorised", error
        assert error["message"], error  # the province's reason, in the commune's language


async def test_a_node_link_with_a_wrong_secret_is_refused_and_logged(cascade: Cascade, tmp_path: Path) -> None:
    from live.node_tokens import sign

    url = cascade.province.base.replace("http", "ws") + "/cluster/node"
    async with ClientSession() as http:
        for token in (sign("not-the-cluster-secret-at-all", "intruder", time.time()), "", "x.1.y"):
            with pytest.raises(WSServerHandshakeError) as refused:
                await http.ws_connect(url, headers={"Authorization": f"Bearer {token}"})
            assert refused.value.status == 403
    assert "intruder" not in listed(cascade.province_dir)
    # a link that holds but says what cannot be read is closed, and the province's server goes on
    async with ClientSession() as http:
        for garbage in ("not json", '{"t": "load", "facts": 5, "load": {}}'):
            token = sign(SECRET, "garbled", time.time())
            async with http.ws_connect(url, headers={"Authorization": f"Bearer {token}"}) as ws:
                await ws.send_str(garbage)
                async with asyncio.timeout(10):
                    async for _ in ws:  # what it is sent meanwhile (the province's nodes), then the close
                        pass
        token = sign(SECRET, "asker", time.time())
        async with http.ws_connect(url, headers={"Authorization": f"Bearer {token}"}) as ws:
            await ws.send_str('{"t": "admit", "q": 7}')  # no link: refused, as a join page would refuse it
            async with asyncio.timeout(10):
                said = {"t": ""}
                while said["t"] != "refused":
                    said = await ws.receive_json()
            assert said["q"] == 7 and said["code"] == "not_authorised", said
    assert "district-bac-ha" in listed(cascade.province_dir)  # the real district server is still linked
    # and a district server given another secret does not link in; the province's log says why
    stray = Server(tmp_path / "stray", "--node-id", "stray", "--cluster-secret", "another-secret-another-secret",
                   "--upstream-url", cascade.province.base)  # fmt: skip
    try:
        await asyncio.sleep(3)
        assert "stray" not in listed(cascade.province_dir)
    finally:
        stray.stop()
    _, said = cascade.province.server.stop()
    assert "node link from 127.0.0.1 refused: wrong signature" in said, said[-3000:]


async def _say_bac_ha_is_served_by(http: ClientSession, province: Node, server_url: str) -> None:
    """As the demo admin: the directory's row for the district, its server added."""
    async with http.post(f"{province.base}/api/session", json={"username": "admin", "password": "demo-admin"}) as r:
        csrf = (await r.json())["csrf_token"]
    rows = ("code,name,kind,parent_code,lat,lon,emails,server_url\n"
            f"bac-ha,Huyện Bắc Hà,district,laocai,22.54,104.289,bac-ha@laocai.example,{server_url}/\n")  # fmt: skip
    headers = {"Content-Type": "text/csv", "X-CSRF-Token": csrf}
    async with http.post(f"{province.base}/api/units/import", data=rows.encode(), headers=headers) as response:
        assert response.status == 200, await response.text()


async def test_the_directory_points_a_districts_links_at_its_server_which_shows_the_provinces_pages(
    cascade: Cascade,
) -> None:
    province, district = cascade.province, cascade.district
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as admin:
        await _say_bac_ha_is_served_by(admin, province, district.base)
    elsewhere = "tp-lao-cai.bac-cuong"  # a commune of another district: joins the province's server
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        links = await plan_demo_meeting(http, province.base, [COMMUNES[0], elsewhere], title="Giao ban – rét đậm")
        assert links[COMMUNES[0]].startswith(f"{district.base}/j/"), links
        assert links[elsewhere].startswith(f"{province.base}/j/") and links["laocai"].startswith(province.base)

        # the link opens the province's join page, in Vietnamese, from the district server, which the page's
        # socket may reach (its own security policy, not the province's)
        async with http.get(links[COMMUNES[0]]) as response:
            page = await response.text()
            policy = response.headers["Content-Security-Policy"]
        assert response.status == 200, page
        assert "Giao ban – rét đậm" in page and "Xã Na Hối" in page and 'data-testid="join-button"' in page
        assert f"ws://127.0.0.1:{district.server.port}" in policy, policy
        async with http.get(links[COMMUNES[0]] + "/check?lang=en") as response:
            check = await response.text()
        assert response.status == 200 and 'data-testid="check-start"' in check and "Start the check" in check
        # the short code read out over the phone, typed at the district server, leads to the same page there
        async with http.get(f"{province.base}/api/meetings") as response:
            meeting = next(m for m in (await response.json())["meetings"] if m["title"] == "Giao ban – rét đậm")
        async with http.get(f"{province.base}/api/meetings/{meeting['id']}/invitations") as response:
            code = next(r["code"] for r in (await response.json())["invitations"] if r["unit"] == COMMUNES[0])
        async with http.get(f"{district.base}/code", params={"c": code}, allow_redirects=False) as response:
            assert response.status == 303 and links[COMMUNES[0]].endswith(response.headers["Location"]), response
        async with http.get(f"{district.base}/code", params={"c": "000-000-001"}) as response:
            assert response.status == 404 and "Traceback" not in await response.text()
        async with http.get(links[COMMUNES[0]][:-3] + "AAA") as response:  # a link that does not hold
            refused = await response.text()
        assert response.status == 403 and "<html" in refused.lower() and "Traceback" not in refused


async def test_a_district_server_cut_off_from_its_province_sends_its_communes_back_to_try_again(
    cascade: Cascade,
) -> None:
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        links = await plan_demo_meeting(http, cascade.province.base, COMMUNES[:1], title="Giao ban")
        commune = await join(http, cascade.district, links[COMMUNES[0]])
        cascade.province.server.stop()
        async with asyncio.timeout(15):
            while not commune.ws.closed:
                await asyncio.sleep(0.1)
        assert commune.ws.close_code == 1012  # "service restart": the page comes back by itself
        # while the province is away, a join through the district is told why, and to come back
        async with http.ws_connect(cascade.district.ws) as ws:
            await ws.send_json({"type": "join", "token": links[COMMUNES[0]].rsplit("/", 1)[1], "name": "Cán bộ"})
            said = await asyncio.wait_for(ws.receive_json(), 15)
            async with asyncio.timeout(5):
                async for _ in ws:  # its goodbye, then the close
                    pass
        assert said["type"] == "error" and said["code"] == "store_unavailable", said
        assert "tỉnh" in said["message"], said  # in Vietnamese: the province's server cannot be reached
        assert ws.close_code == 1012
        at_district = f"{cascade.district.base}/j/{links[COMMUNES[0]].rsplit('/', 1)[1]}"
        async with http.get(at_district) as page:  # the page says so too, as a page
            text = await page.text()
        assert page.status == 503 and "tỉnh" in text and "Traceback" not in text, text

        # the province's server comes back: the district server links in again by itself, and the commune is in
        back = Server(cascade.province_dir, "--demo", "--node-id", "province", "--cluster-secret", SECRET,
                      port=cascade.province.server.port)  # fmt: skip
        try:
            deadline = time.monotonic() + 15
            while DISTRICT_NODE not in listed(cascade.province_dir):
                assert time.monotonic() < deadline, "the district server did not link in again within 15 s"
                await asyncio.sleep(0.2)
            again = await join(http, cascade.district, links[COMMUNES[0]])
            assert again.welcome["unit"] == COMMUNES[0]
        finally:
            back.stop()
