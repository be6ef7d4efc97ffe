"""The duplicate-matter detector (issue 15, DOMAIN.md rule 12): quality on the labelled sets, the
evaluation command, named hard cases, unit keys, signatures. Pure functions: no database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from supervision.choices import InstructionKind
from supervision.matching import MatterText, Signature, compare, signature, unit_key
from supervision.matching.evaluation import PairsFileError, evaluate_file, read_pairs

DATA = Path(__file__).parent.parent / "data"
LABELLED = DATA / "duplicate_pairs.jsonl"
HOLDOUT = DATA / "duplicate_pairs_holdout.jsonl"
ROOT = Path(__file__).resolve().parents[3]
CJK = re.compile(r"[\u4e00-\u9fff]")


def match(a: MatterText, b: MatterText):
    return compare(signature(a), signature(b))


# --- the labelled sets ---------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "at_least"), [(LABELLED, 200), (HOLDOUT, 60)])
def test_labelled_files_are_well_formed_and_balanced(path, at_least):
    pairs = read_pairs(path, source_kinds=InstructionKind.values)
    duplicates = sum(p.duplicate for p in pairs)
    assert len(pairs) >= at_least
    assert 0.35 <= duplicates / len(pairs) <= 0.45  # about 40% duplicates, 60% (hard) negatives
    assert len({p.id for p in pairs}) == len(pairs)


def test_held_out_pairs_are_not_copies_of_labelled_pairs():
    def key(p):
        return frozenset({(p.a.title, p.a.text, p.a.lead_unit), (p.b.title, p.b.text, p.b.lead_unit)})

    assert not {key(p) for p in read_pairs(LABELLED)} & {key(p) for p in read_pairs(HOLDOUT)}


@pytest.mark.parametrize("path", [LABELLED, HOLDOUT], ids=["labelled", "holdout"])
def test_precision_and_recall_at_least_0_9(path):
    result = evaluate_file(path, source_kinds=InstructionKind.values)
    assert result.precision >= 0.9, [m.id for m in result.misjudged]
    assert result.recall >= 0.9, [m.id for m in result.misjudged]
    assert result.tp + result.fp + result.fn + result.tn == len(read_pairs(path))
    assert len(result.misjudged) == result.fp + result.fn


def test_command_prints_precision_recall_counts_and_misjudged_ids():
    out = StringIO()
    call_command("duplicate_pairs", str(LABELLED), stdout=out)
    text = out.getvalue()
    result = evaluate_file(LABELLED)
    precision = float(re.search(r"精确率 P = ([0-9.]+)", text).group(1))
    recall = float(re.search(r"召回率 R = ([0-9.]+)", text).group(1))
    f1 = float(re.search(r"F1 = ([0-9.]+)", text).group(1))
    assert precision >= 0.9 and recall >= 0.9
    assert (precision, recall, f1) == (round(result.precision, 3), round(result.recall, 3), round(result.f1, 3))
    assert f"TP {result.tp}    FP {result.fp}    FN {result.fn}    TN {result.tn}" in text
    printed_ids = set(re.findall(r"^  #(\S+) ", text, flags=re.MULTILINE))
    assert printed_ids == {str(m.id) for m in result.misjudged}
    for item in result.misjudged:  # each with its score and reasons
        assert f"#{item.id} " in text and f"得分 {item.score:.3f}" in text and "；".join(item.reasons) in text


def test_command_threshold_option_changes_the_decision():
    out = StringIO()
    call_command("duplicate_pairs", str(LABELLED), "--threshold", "0.99", stdout=out)
    strict = float(re.search(r"召回率 R = ([0-9.]+)", out.getvalue()).group(1))
    assert "阈值 0.99" in out.getvalue()
    assert strict < evaluate_file(LABELLED).recall


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": 1, "a": {"title": "甲"}, "b": {"title": "乙"}, "duplicate": true}\n{"id": 2, "a": ', "第 2 行不是合法的 JSON"),
        ("\n\n[1, 2]\n", "第 3 行应为一个 JSON 对象"),
        ('{"id": 1, "a": {"title": "甲"}, "duplicate": true}\n', "第 1 行缺少字段 b"),
        ('{"id": 1, "a": {"title": "甲"}, "b": "乙", "duplicate": true}\n', "第 1 行：b 应为对象"),
        ('{"id": 1, "a": {"title": " "}, "b": {"title": "乙"}, "duplicate": true}\n', "第 1 行：a.title 缺失或为空"),
        ('{"id": 1, "a": {"title": "甲"}, "b": {"title": "乙"}, "duplicate": "yes"}\n', "第 1 行：duplicate 应为 true 或 false"),
        ('{"id": 1, "a": {"title": "甲", "lead_unit": 3}, "b": {"title": "乙"}, "duplicate": true}\n', "a.lead_unit 应为字符串"),
        (
            '{"id": 1, "a": {"title": "甲", "source_kind": "rumour"}, "b": {"title": "乙"}, "duplicate": true}\n',
            "不是已知的来源类别",
        ),
        (
            '{"id": 7, "a": {"title": "甲"}, "b": {"title": "乙"}, "duplicate": true}\n'
            '{"id": 7, "a": {"title": "丙"}, "b": {"title": "丁"}, "duplicate": false}\n',
            "第 2 行：id 7 与第 1 行重复",
        ),
        ("\n", "文件中没有标注对"),
    ],
)
def test_bad_file_is_a_chinese_error_naming_the_line(tmp_path, content, message):
    path = tmp_path / "pairs.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PairsFileError, match=re.escape(message)):
        read_pairs(path, source_kinds=InstructionKind.values)
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("duplicate_pairs", str(path), stdout=StringIO())


def test_command_on_a_bad_file_exits_non_zero_without_traceback(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "a": {"title": "甲"}, "b": {"title": "乙"}, "duplicate": true}\n{oops}\n', encoding="utf-8")
    for args in ([str(bad)], [str(tmp_path / "missing.jsonl")], [str(LABELLED), "--threshold", "abc"]):
        run = subprocess.run(
            [sys.executable, "manage.py", "duplicate_pairs", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert run.returncode != 0
        assert "Traceback" not in run.stderr
        assert CJK.search(run.stderr)
    assert (
        "第 2 行"
        in subprocess.run(
            [sys.executable, "manage.py", "duplicate_pairs", str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=120
        ).stderr
    )


# --- named hard negatives ------------------------------------------------------------------------


def test_another_place_is_another_matter():
    m = match(
        MatterText(
            "加快推进城北河道综合整治工程", "城北河道黑臭，住建局要加快截污纳管。", "县住建局", source_kind="leader_instruction"
        ),
        MatterText("加快推进城南河道综合整治工程", "城南河道黑臭，住建局要加快截污纳管。", "县住房和城乡建设局"),
    )
    assert not m.duplicate
    assert "地点不同（城北 / 城南）" in m.reasons
    m = match(
        MatterText("纸房镇烟花爆竹经营点安全检查", lead_unit="县应急局"),
        MatterText("黄庄乡烟花爆竹经营点安全检查", lead_unit="县应急局"),
    )
    assert not m.duplicate and "地点不同（纸房镇 / 黄庄乡）" in m.reasons


def test_another_year_is_another_matter():
    m = match(
        MatterText("2027年空气质量改善目标", "PM2.5年均浓度下降到35微克。", "县生态环境局"),
        MatterText("2026年空气质量改善目标", "PM2.5年均浓度下降到38微克。", "县环保局"),
    )
    assert not m.duplicate
    assert "年份不同（2027 / 2026）" in m.reasons


@pytest.mark.parametrize(
    ("one", "other", "reason"),
    [
        ("东关街道老旧小区改造一期", "东关街道老旧小区改造二期", "期次不同（一期 / 二期）"),
        ("第一批乡村振兴示范村创建", "第二批乡村振兴示范村创建", "批次不同（第一批 / 第二批）"),
        ("首批专项债项目开工", "第二批专项债项目开工", "批次不同（第一批 / 第二批）"),
        ("第二轮中央生态环境保护督察反馈问题整改", "第三轮中央生态环境保护督察反馈问题整改", "轮次不同（第二轮 / 第三轮）"),
        ("一季度安全生产大检查", "二季度安全生产大检查", "季度不同（一季度 / 二季度）"),
        ("人民路北段提升改造", "人民路南段提升改造", "地点不同（北段 / 南段）"),
        ("县第一中学消防安全检查", "县第二中学消防安全检查", "不同（第一中学 / 第二中学）"),
    ],
)
def test_another_phase_batch_round_or_period_is_another_matter(one, other, reason):
    m = match(MatterText(one, lead_unit="县住建局"), MatterText(other, lead_unit="住建局"))
    assert not m.duplicate
    assert any(reason in r for r in m.reasons), m.reasons


def test_the_same_matter_split_between_units_is_not_a_duplicate():
    m = match(
        MatterText("城北河道综合整治", "负责沿河两岸截污管网建设。", "县住建局", source_kind="meeting_decision"),
        MatterText("城北河道综合整治", "负责河道清淤和堤岸修复。", "县水利局", source_kind="meeting_decision"),
    )
    assert not m.duplicate
    assert "牵头单位不同（县住建局 / 县水利局）" in m.reasons


def test_recurring_inspections_at_different_firms_are_not_duplicates():
    m = match(
        MatterText("对宏达化工有限公司开展安全生产检查", lead_unit="县应急局", source_kind="inspection_finding"),
        MatterText("对鑫源矿业有限公司开展安全生产检查", lead_unit="县应急管理局", source_kind="inspection_finding"),
    )
    assert not m.duplicate
    assert "企业不同（宏达化工 / 鑫源矿业）" in m.reasons


def test_same_place_another_task_is_not_a_duplicate():
    assert not match(
        MatterText("黄庄乡中心小学校舍维修", lead_unit="县教育局"), MatterText("黄庄乡中心小学营养餐供应", lead_unit="县教育局")
    ).duplicate
    m = match(
        MatterText("县第一中学学生宿舍楼建设", lead_unit="县教育局"), MatterText("县第一中学学生食堂建设", lead_unit="县教育局")
    )
    assert not m.duplicate
    assert "名称中的对象不同（宿舍楼 / 食堂）" in m.reasons


def test_a_conflict_wins_over_any_threshold():
    m = compare(
        signature(MatterText("2026年森林防火工作", lead_unit="县林业局")),
        signature(MatterText("2027年森林防火工作", lead_unit="县林业局")),
        threshold=0.01,
    )
    assert not m.duplicate and m.conflicts


def test_an_annual_task_registered_again_differs_by_the_year_in_its_text():
    m = match(
        MatterText("病险水库除险加固", "2026年完成5座病险水库除险加固。", "县水利局"),
        MatterText("病险水库除险加固", "2027年完成8座病险水库除险加固。", "县水利局"),
    )
    assert not m.duplicate and "年份不同（2026 / 2027）" in m.reasons


# --- named positives -----------------------------------------------------------------------------


def test_reworded_title_with_full_and_short_unit_names_is_a_duplicate():
    m = match(
        MatterText(
            "加快推进城北河道综合整治工程",
            "县委书记批示：城北河道黑臭问题群众反映强烈，6月底前见成效。",
            "县住建局",
            source_kind="leader_instruction",
        ),
        MatterText(
            "城北河道综合治理进度滞后问题",
            "县委常委会议定：城北河道综合治理工程6月底前完成截污纳管。",
            "云溪县住房和城乡建设局",
            source_kind="meeting_decision",
        ),
    )
    assert m.duplicate
    assert m.reasons[0] == "同一牵头单位（县住建局）"
    assert any(r.startswith("事项名称相似度 0.") for r in m.reasons)
    assert "地点一致（城北）" in m.reasons


def test_abbreviations_are_the_same_matter():
    assert match(
        MatterText("县人民医院新院区建设项目", lead_unit="县卫健委"),
        MatterText("县医院新院区项目建设进度", lead_unit="县卫生健康委员会"),
    ).duplicate
    assert match(
        MatterText("县第一中学学生宿舍楼建设", lead_unit="县教育局"), MatterText("一中宿舍楼建设项目", lead_unit="县教体局")
    ).duplicate
    assert match(
        MatterText("第一批省级重点项目建设", lead_unit="县发改委"),
        MatterText("省级重点项目第一批建设", lead_unit="云溪县发展和改革委员会"),
    ).duplicate


def test_background_dates_in_the_texts_do_not_split_a_matter():
    m = match(
        MatterText("城区内涝治理", "2025年汛期城区多处内涝，群众反映强烈。", "县住建局"),
        MatterText("城区内涝点改造", "2026年汛前完成城区内涝点改造。", "县住房和城乡建设局"),
    )
    assert m.duplicate and not m.conflicts


def test_a_year_written_elsewhere_in_the_title_is_the_same_year():
    m = match(
        MatterText("推进老旧小区改造（2026年）", lead_unit="县住建局"), MatterText("2026年老旧小区改造", lead_unit="县住建局")
    )
    assert m.duplicate and "年份一致（2026）" in m.reasons


def test_an_oa_push_of_a_matter_on_the_ledger_is_a_duplicate():
    on_ledger = MatterText(
        "人民路夜间施工噪音扰民", "群众通过12345热线反映人民路道路施工夜间噪音扰民。", "县城管局", source_kind="public_report"
    )
    pushed = MatterText(
        "关于转办群众反映人民路夜间施工噪声扰民问题的通知",
        "云城管〔2026〕12号，请核查处理并按时反馈。",
        "县城市管理局",
        source_kind="public_report",
    )
    m = match(on_ledger, pushed)
    assert m.duplicate and "地点一致（人民路）" in m.reasons


def test_the_same_instruction_reference_is_named_in_the_reasons():
    a = MatterText("东关农贸市场提升改造", lead_unit="县市场监管局", instruction_ref="云办〔2026〕7号")
    b = MatterText("东关农贸市场改造", lead_unit="县市场监督管理局", instruction_ref="云办[2026]7号")
    m = match(a, b)
    assert m.duplicate and "同一批示件" in m.reasons


# --- unit keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        ("县发改委", "县发展和改革委员会", "发改委", "云溪县发展和改革委员会", "发展改革委"),
        ("住建局", "县住房和城乡建设局", "云溪县住建局", "县住房城乡建设局"),
        ("市场监管局", "市场监督管理局", "县市场监督管理局", "县市场监管局"),
        ("卫健委", "县卫生健康委员会", "县卫健局"),
        ("人社局", "县人力资源和社会保障局"),
        ("资规局", "自然资源局", "县自然资源和规划局", "国土局"),
        ("交通局", "县交通运输局"),
        ("应急局", "县应急管理局", "安监局"),
        ("农业农村局", "农业局", "县农业农村局"),
        ("生态环境局", "环保局", "市生态环境局云溪分局", "市生态环境局云溪县分局"),
        ("文旅局", "县文化和旅游局", "县文化广电和旅游局"),
        ("医保局", "县医疗保障局"),
        ("城管局", "县城市管理局", "县城市管理综合执法局"),
        ("政数局", "县政务服务和数据管理局"),
        ("县教育局", "县教体局", "县教育和体育局"),
        ("县水利局", "县水务局"),
        ("县公安局", "公安局", "县公安局交警大队"),
        ("税务局", "国家税务总局云溪县税务局"),
        ("黄庄乡", "黄庄乡人民政府", "中共黄庄乡委员会", "黄庄乡政府"),
        ("纸房镇", "纸房镇人民政府", "纸房镇党委"),
        ("东关街道", "东关街道办事处", "东关街道办", "东关办事处"),
    ],
)
def test_unit_key_equivalences(names):
    keys = {unit_key(name) for name in names}
    assert len(keys) == 1 and "" not in keys, keys


def test_unit_keys_keep_different_bodies_apart():
    keys = [
        unit_key(n)
        for n in ("县住建局", "县水利局", "县交通局", "黄庄乡", "纸房镇", "东关街道", "西关街道", "县委组织部", "县委宣传部")
    ]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("云溪县老干部局", "老干部局"),
        ("县老干部局", "老干部局"),
        ("县委督查室", "县委督查室"),
        ("黄庄乡农业服务中心", "黄庄乡农业服务中心"),
        ("市场监督管理局", "市场监督管理局"),
        ("  县 住建局 ", "住房和城乡建设局"),
        ("", ""),
    ],
)
def test_unit_key_falls_back_to_a_normalised_name(name, key):
    assert unit_key(name) == key


# --- signatures and reasons ----------------------------------------------------------------------


def test_signature_json_round_trip():
    matter = MatterText(
        "黄庄乡中心小学校舍安全隐患整改",
        "督查发现黄庄乡中心小学教学楼外墙脱落，2026年底前完成第一批整改。",
        "县教育局",
        ("县住建局",),
        "inspection_finding",
        "云督〔2026〕3号",
    )
    original = signature(matter)
    stored = original.to_json()
    again = Signature.from_json(stored)
    assert again == original
    assert json.loads(stored)["entities"]["township"] == ["黄庄乡"]
    other = signature(MatterText("黄庄乡中心小学教学楼外墙脱落隐患", lead_unit="县教体局"))
    first, second = compare(original, other), compare(again, other)
    assert (first.score, first.duplicate, first.reasons) == (second.score, second.duplicate, second.reasons)


def test_signature_from_another_version_is_refused():
    raw = json.loads(signature(MatterText("县文化中心建设")).to_json())
    raw["v"] = 0
    with pytest.raises(ValueError, match="version"):
        Signature.from_json(json.dumps(raw))


def test_reasons_are_chinese_on_every_labelled_pair():
    for pair in read_pairs(LABELLED)[:80]:
        m = match(pair.a, pair.b)
        assert m.reasons and all(CJK.search(reason) for reason in m.reasons), m.reasons
        assert 0.0 <= m.score <= 1.0


def test_threshold_comes_from_settings(settings):
    a, b = MatterText("县城区公厕改造提升", lead_unit="县城管局"), MatterText("城区公共厕所提升改造", lead_unit="县城市管理局")
    assert match(a, b).duplicate
    settings.DUPLICATE_MATCH_THRESHOLD = 1.01
    assert not match(a, b).duplicate


def test_items_decomposed_from_one_instruction_are_told_apart_by_their_titles():
    """分解立项 quotes the instruction in every item's requirement: that shared text is not one matter."""
    quoted = "县委常委会议要求：全面开展安全生产大排查大整治，压紧压实各方责任，坚决遏制重特大事故发生。具体目标："
    ref = "县委常委会议纪要〔2026〕12号"
    gas = MatterText("燃气管道安全隐患排查整治", quoted + "燃气管道安全隐患排查整治。", "县应急管理局", instruction_ref=ref)
    chem = MatterText("危化品企业专项检查", quoted + "危化品企业专项检查。", "县应急管理局", instruction_ref=ref)
    assert not match(gas, chem).duplicate
    # Without the shared instruction the same texts would read as one matter: the rule is what tells them apart.
    assert match(MatterText(gas.title, gas.text, gas.lead_unit), MatterText(chem.title, chem.text, chem.lead_unit)).duplicate
    # The same matter pushed again under the same instruction is still found.
    again = MatterText("燃气管道安全隐患排查整治工作", quoted + "燃气管道隐患排查。", "县应急局", instruction_ref=ref)
    assert match(gas, again).duplicate


@pytest.mark.parametrize("path", [LABELLED, HOLDOUT])
def test_a_conflict_alone_rules_a_pair_out_exactly_when_compare_does(path):
    """The service checks `conflicting` before `compare` (a fifth of the cost): on every labelled
    pair, in both orders, a pair it rules out is never a duplicate by `compare`; and it does rule
    out pairs, including some whose titles alone read alike."""
    from supervision.matching import conflicting

    ruled_out = alike = 0
    for pair in read_pairs(path):
        a, b = signature(pair.a), signature(pair.b)
        for one, other in ((a, b), (b, a)):
            if conflicting(one, other):
                ruled_out += 1
                match = compare(one, other)
                assert not match.duplicate, pair.id
                alike += match.title_similarity >= 0.6
    assert ruled_out > 10 and alike > 2
