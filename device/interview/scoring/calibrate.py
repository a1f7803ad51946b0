"""Where each encoder's cosine scale starts and ends, set from hand-written sentence pairs.

The scorer maps a cosine onto [0, 1] between ``floor`` (what unrelated sentences score) and ``ceiling``
(what a paraphrase scores). Those two points are a property of the encoder, not of any grading scheme,
so they are set from the pairs below, written for this project (workplace and interview sentences),
and never from graded answers (mohler-dev is the evaluation set and is not read here).

    python -m device.interview.scoring.calibrate      # prints mean cosines per encoder and language

The constants in encoders.py are these means rounded to 0.01 (x86, one thread).
"""

from __future__ import annotations

import numpy as np

PARAPHRASE_EN = [
    ("I apologised to the customer and offered a refund.",
     "I said sorry to the client and gave them their money back."),
    ("We finished the project two days early.", "The project was completed two days ahead of schedule."),
    ("I checked the stock levels every morning.", "Each morning I verified how much inventory we had."),
    ("The forklift must be inspected before each shift.", "Before every shift the forklift has to be checked."),
    ("I escalated the complaint to my supervisor.", "I passed the complaint up to my manager."),
    ("Our team reduced picking errors by half.", "The team cut the number of picking mistakes by fifty percent."),
    ("She listened carefully to understand the problem.",
     "She paid close attention so she could understand the issue."),
    ("I stayed late to help clear the backlog.", "I worked extra hours to get through the pile of pending work."),
    ("A variable stores a value that can change.", "A variable holds a value which may be modified."),
    ("Safety comes first in the warehouse.", "In the warehouse, safety is the top priority."),
]
UNRELATED_EN = [
    ("I apologised to the customer and offered a refund.", "The forklift must be inspected before each shift."),
    ("We finished the project two days early.", "She listened carefully to understand the problem."),
    ("I checked the stock levels every morning.", "A variable stores a value that can change."),
    ("Our team reduced picking errors by half.", "I enjoy hiking in the mountains on weekends."),
    ("I escalated the complaint to my supervisor.", "The recipe needs two cups of flour."),
    ("Safety comes first in the warehouse.", "The train to the airport leaves every ten minutes."),
    ("I stayed late to help clear the backlog.", "Paris is the capital of France."),
    ("A variable stores a value that can change.", "The customer wanted a different colour."),
    ("She listened carefully to understand the problem.", "Prices of vegetables rose this winter."),
    ("The forklift must be inspected before each shift.", "My favourite film is a comedy."),
]
PARAPHRASE_ZH = [
    ("我向客户道歉并提供了退款。", "我跟顾客说了对不起，还把钱退给了他。"),
    ("我们比计划提前两天完成了项目。", "项目比预定时间早两天做完了。"),
    ("我每天早上检查库存。", "每天上午我都会核对仓库里的存货。"),
    ("每次交接班前都要检查叉车。", "叉车在每个班次开始前必须进行检查。"),
    ("我把投诉上报给了主管。", "我将这个投诉反映给了我的上级。"),
    ("我们团队把拣货错误减少了一半。", "团队的拣货差错下降了百分之五十。"),
    ("她认真倾听，弄清楚了问题。", "她仔细听对方讲，搞明白了是什么问题。"),
    ("我加班帮忙处理积压的订单。", "我多工作了几个小时，把堆积的订单处理完。"),
    ("仓库里安全永远是第一位的。", "在仓库工作，安全最重要。"),
    ("我先安抚了客户的情绪。", "我首先让顾客平静下来。"),
]
UNRELATED_ZH = [
    ("我向客户道歉并提供了退款。", "每次交接班前都要检查叉车。"),
    ("我们比计划提前两天完成了项目。", "她认真倾听，弄清楚了问题。"),
    ("我每天早上检查库存。", "周末我喜欢去山里徒步。"),
    ("我把投诉上报给了主管。", "这道菜需要两杯面粉。"),
    ("我们团队把拣货错误减少了一半。", "去机场的火车每十分钟一班。"),
    ("仓库里安全永远是第一位的。", "巴黎是法国的首都。"),
    ("我加班帮忙处理积压的订单。", "今年冬天蔬菜涨价了。"),
    ("她认真倾听，弄清楚了问题。", "我最喜欢的电影是一部喜剧。"),
    ("我先安抚了客户的情绪。", "这台电脑的屏幕太小了。"),
    ("每次交接班前都要检查叉车。", "明天可能会下雨。"),
]


def mean_cosine(encoder_kind: str, pairs: list[tuple[str, str]]) -> float:
    from device.interview.scoring.encoders import load_encoder

    encoder = load_encoder(encoder_kind)
    a = encoder.embed([p[0] for p in pairs])
    b = encoder.embed([p[1] for p in pairs])
    return float(np.mean(np.sum(a * b, axis=1)))


def main() -> None:
    for kind, lang, para, unrel in (
        ("minilm", "en", PARAPHRASE_EN, UNRELATED_EN),
        ("e5", "en", PARAPHRASE_EN, UNRELATED_EN),
        ("e5", "zh", PARAPHRASE_ZH, UNRELATED_ZH),
    ):
        print(f"{kind:7s} {lang}: unrelated (floor) {mean_cosine(kind, unrel):.3f}  "
              f"paraphrase (ceiling) {mean_cosine(kind, para):.3f}")


if __name__ == "__main__":
    main()
