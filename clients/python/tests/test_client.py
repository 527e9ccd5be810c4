"""The client against the real `parallel-vision api` (no mocks of the server)."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from parallel_vision import ApiError, AppNotFound, AppUnreachable, Client, DeepSeekOCRClient, ParallelVisionAnalyzer

from .conftest import ad_words


def test_client_finds_the_running_app_from_its_data_folder(real_server):
    client = Client(data_dir=real_server.data_dir)
    assert client.url == real_server.url
    assert client.key == real_server.key
    assert any(engine["engine"] == "embedded" for engine in client.engines())


def test_environment_names_the_data_folder(real_server, monkeypatch):
    monkeypatch.setenv("PARALLEL_VISION_DATA_DIR", str(real_server.data_dir))
    assert Client().url == real_server.url


def test_ocr_of_a_url_and_of_a_local_file(real_server, ad_images, tmp_path):
    client = Client(data_dir=real_server.data_dir)
    by_url = client.ocr(ad_images.ads[3]["image_url"], engine="embedded")
    assert by_url["text"] == ad_words(3)
    assert by_url["engine"] == "embedded"
    assert by_url["blocks"] and len(by_url["blocks"][0]["box"]) == 4
    from .conftest import make_ad_image

    path = tmp_path / "local.png"
    make_ad_image(path, 7)
    assert client.ocr(path)["text"] == ad_words(7)
    assert client.ocr(path.read_bytes())["text"] == ad_words(7)


def test_run_wait_and_results(real_server, ad_images):
    client = Client(data_dir=real_server.data_dir)
    run = client.run(ad_images.ads[:6], engines=["embedded"])
    assert run.accepted == 6 and run.rejected == []
    seen = []
    final = run.wait(progress=seen.append)
    assert final["status"] == "finished" and final["done"] == 6
    assert seen and seen[-1]["done"] == 6
    rows = list(run.results())
    assert sorted(row["creative_id"] for row in rows) == [f"cr{n}" for n in range(6)]
    for row in rows:
        n = int(row["creative_id"][2:])
        assert row["_vision_text"] == ad_words(n)
        assert row["page"] == f"p{n % 4}"
        assert isinstance(row["_vision_time"], float)


def test_rejected_rows_are_reported_by_index(real_server, ad_images):
    client = Client(data_dir=real_server.data_dir)
    run = client.run([ad_images.ads[0], {"creative_id": "bad", "image_url": "ftp://nowhere/x.png"}], engines=["embedded"], name="nightly scrape")
    assert run.accepted == 1
    assert run.rejected[0]["line"] == 2 and "not an http(s) URL" in run.rejected[0]["reason"]
    assert run.rejected_total == 1
    run.wait()
    assert next(listed for listed in client.runs() if listed["runId"] == run.id)["source"] == "nightly scrape"


def test_parallel_vision_analyzer_keeps_the_prototype_shape(real_server, ad_images):
    analyzer = ParallelVisionAnalyzer(llava_workers=2, deepseek_workers=2, split_ratio=0.5, client=Client(data_dir=real_server.data_dir))
    ads = ad_images.ads + [{"creative_id": "broken", "image_url": "not a url"}]
    # Neither of the prototype's engines runs here: the ads are read, and the script is told by what.
    with pytest.warns(RuntimeWarning, match=r"^DeepSeek-OCR and Ollama \(LLaVA\) are not running in Parallel Vision: these ads are read by embedded\."):
        results = analyzer.process_ads_parallel(ads)
    assert [ad["creative_id"] for ad in results] == [ad["creative_id"] for ad in ads]
    for n, ad in enumerate(results[:20]):
        assert ad["ad_text"] == f"ad number {n}"
        assert ad["_vision_text"] == ad_words(n), ad
        assert ad["_vision_model"]
        assert ad["_vision_time"] >= 0
    assert results[20]["_vision_status"] == "rejected" and results[20]["_vision_text"] == ""
    assert "image_url" not in ads[0] or "_vision_text" not in ads[0], "the input ads are not modified"


def test_parallel_vision_analyzer_ratio_gives_deepseek_split_ratio_of_the_ads(fake_server, ad_images):
    client = Client(data_dir=fake_server.data_dir)
    results = ParallelVisionAnalyzer(split_ratio=0.25, policy="ratio", client=client).process_ads_parallel(ad_images.ads)
    models = [ad["_vision_model"] for ad in results]
    assert sum("deepseek" in model for model in models) == 5, models
    assert sum("ollama" in model for model in models) == 15, models
    # Engines without Ollama: DeepSeek keeps its share, the others take the rest (the app refuses a split naming an engine the run lacks).
    results = ParallelVisionAnalyzer(split_ratio=0.25, policy="ratio", engines=["embedded", "deepseek"], client=client).process_ads_parallel(ad_images.ads)
    models = [ad["_vision_model"] for ad in results]
    assert sum("deepseek" in model for model in models) == 5, models
    assert sum("embedded" in model for model in models) == 15, models


def test_deepseek_ocr_client_drop_in(real_server, ad_images):
    ocr = DeepSeekOCRClient(client=Client(data_dir=real_server.data_dir))
    texts = [ocr.extract_text(ad["image_url"])["raw_text"] for ad in ad_images.ads]
    assert texts == [ad_words(n) for n in range(20)]
    assert ocr.health_check()


def test_a_cancelled_run_stops_and_keeps_what_finished(fake_server, ad_images):
    client = Client(data_dir=fake_server.data_dir)
    run = client.run(ad_images.ads, engines=["embedded"], workers={"embedded": 1})
    run.cancel()
    final = run.wait()
    assert final["status"] == "cancelled"
    assert final["done"] < 20
    rows = list(run.results(rows="done"))
    assert len(rows) == final["done"]
    with pytest.raises(ApiError) as error:
        run.cancel()
    assert error.value.status == 409 and "is not running" in error.value.message


def test_a_wrong_key_is_refused(real_server):
    client = Client(url=real_server.url, key="pv_not-the-key")
    with pytest.raises(ApiError) as error:
        client.engines()
    assert error.value.status == 401
    assert "wrong API key" in str(error.value)


def test_bad_input_names_the_field(real_server):
    client = Client(data_dir=real_server.data_dir)
    with pytest.raises(ApiError) as error:
        client.run([{"creative_id": "x", "image_url": "http://127.0.0.1/x.png"}], policy="fastest")
    assert error.value.status == 400
    assert error.value.issues[0].startswith("body.policy:")


def test_a_server_that_is_down_is_named(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Client(url=f"http://127.0.0.1:{port}", key="pv_x")
    with pytest.raises(AppUnreachable) as error:
        client.ocr("https://example.com/ad.png")
    assert f"http://127.0.0.1:{port}" in str(error.value)
    assert "not answering" in str(error.value)


def test_no_running_app_is_named(tmp_path):
    with pytest.raises(AppNotFound) as error:
        Client(data_dir=tmp_path)
    assert str(tmp_path / "api.json") in str(error.value)
    (tmp_path / "api.json").write_text(json.dumps({"url": "http://127.0.0.1:9", "keyFile": str(tmp_path / "api-key")}))
    with pytest.raises(AppNotFound) as missing_key:
        Client(data_dir=tmp_path)
    assert str(Path(tmp_path / "api-key")) in str(missing_key.value)
