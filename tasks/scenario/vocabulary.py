"""The words of the simulated chatter: text templates, platforms, nicknames and per-brand flavour. Pure data.

The brands and their products come from config/lexicon.toml (see catalogue.py); what the lexicon has no
place for lives here: a brand's kind of goods and posting rate, a product's own praise and SKU prefix.
A brand or product missing from these tables still gets chatter, with the shared ("any") words.
The texts follow the lexicon's categories: praise, neutral and sale talk hold no crisis-category term,
everyday complaints exactly one, and the phrases of one crisis-core list each a different term.
"""

from __future__ import annotations

from datetime import timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
# Kind of goods per brand: picks the complaint, crisis and KOL wording; unknown brands get the "any" words.
KIND = {"澄星": "appliance", "青禾": "food", "木棉优选": "textile", "焰峰": "appliance"}
# How much a brand is talked about, relative to HOURLY_RATE; unknown brands 1.0.
BRAND_RATE = {"澄星": 1.0, "青禾": 1.1, "木棉优选": 0.9}
# Mentions per hour of one brand by Asia/Shanghai hour of day: quiet nights, evening peak.
HOURLY_RATE = (3.0, 2.5, 2.0, 1.5, 1.5, 2.0, 3.0, 4.5, 5.5, 6.0, 6.5, 6.5,
               7.0, 6.5, 6.0, 6.0, 6.0, 6.5, 7.0, 7.5, 8.0, 8.0, 6.5, 4.5)
# SKU prefix per product; other products get one derived from the name (orders.py).
SKU_PREFIX = {
    "澄星空气炸锅": "CX-AF", "澄星电水壶": "CX-KT", "澄星破壁机": "CX-BL",
    "青禾牛奶": "QH-MK", "青禾坚果礼盒": "QH-NT", "青禾燕麦片": "QH-OT",
    "木棉四件套": "MM-BS", "木棉羽绒被": "MM-DV", "木棉毛巾": "MM-TW",
}
PLATFORM_SLUG = {"微博": "weibo", "小红书": "xiaohongshu", "抖音": "douyin", "知乎": "zhihu",
                 "淘宝评价": "taobao", "黑猫投诉": "heimao"}
PRAISE_PLATFORMS = {"微博": 30, "小红书": 25, "抖音": 20, "知乎": 8, "淘宝评价": 17}
COMPLAINT_PLATFORMS = {"微博": 30, "小红书": 15, "抖音": 15, "知乎": 5, "淘宝评价": 15, "黑猫投诉": 20}

PRAISE = ("好评", "性价比高", "很满意", "颜值很高", "到货很快", "包装很用心", "会回购的", "推荐给大家",
          "价格很实惠", "比想象中好用", "家里人都说好", "真香", "物超所值", "东西很不错", "用着很顺手")
PRODUCT_PRAISE = {
    "澄星空气炸锅": ("炸鸡翅外酥里嫩", "少油很健康", "容量够一家三口用", "拆洗很方便", "薯条一次成功"),
    "澄星电水壶": ("烧水很快", "保温效果很好", "静音效果很好", "放在厨房很好看"),
    "澄星破壁机": ("打豆浆很细腻", "早上做米糊很方便", "果汁打得很细", "一键操作很省心"),
    "青禾牛奶": ("口感醇厚", "孩子很爱喝", "每天早上一盒很舒服", "奶味很浓"),
    "青禾坚果礼盒": ("送礼很有面子", "坚果很新鲜", "分量很足", "每一包都很香"),
    "青禾燕麦片": ("冲泡很快很好喝", "早餐必备", "饱腹感很强", "口感很好"),
    "木棉四件套": ("摸起来很舒服", "颜色很正", "手感很柔软舒服", "睡着很亲肤"),
    "木棉羽绒被": ("很暖和", "蓬松度很好", "冬天盖刚刚好", "轻薄又保暖"),
    "木棉毛巾": ("吸水性很好", "很柔软", "洗完依旧蓬松柔软", "厚实很舒服"),
}
PRAISE_FORMS = (
    "{opener}{product}{a}，{b}{end}", "{product}{a}{end} {b}", "入手{product}{n}个月了，{a}，{b}{end}",
    "再次购买{product}，{a}，{b}{end}", "{brand}家的东西一直在用，{product}{a}，{b}{end}",
    "{opener}{product}，{a}，{b}，{c}{end}", "{product} {a}！{b}{end}",
)
NEUTRAL_FORMS = (
    "还行吧，{product}中规中矩{end}", "有人买过{product}吗？值得入吗", "{product}和别家比怎么样，求推荐",
    "{brand}直播间今晚有活动，{product}便宜了{n}十块", "{product}刚收到，先用几天再来追评",
    "{brand}新品上架了，有点心动{end}", "{brand}活动价很划算，囤了{n}件{end}",
    "{product}到底值不值，蹲一个真实测评", "{alias}这次活动价多少？想入{product}",
    "刚下单了{product}，期待{end}", "{product}收到啦，第一印象不错{end}",
)
OPENERS = ("", "", "朋友推荐的", "双十一囤的", "618入手的", "刚到手，", "给爸妈买的", "再次购买，",
           "直播间抢的", "用了一个月，", "对比了好几家选的")
FILLERS = ("", "", "", "", "说实话，", "姐妹们，", "家人们，", "真心说，", "哈哈哈 ", "分享一下：",
           "宝子们，")
CRISIS_FILLERS = ("", "", "", "家人们，", "姐妹们，", "说实话，", "真的服了，", "无语，", "曝光一下：")
ENDINGS = ("", "。", "！", "~", "！！", "。。", "…", "~~")

# Everyday complaints: mild, one crisis-category term each. Safety complaints are left out on purpose.
COMPLAINTS: dict[str, dict[str, tuple[str, ...]]] = {
    "物流配送": {"any": ("{product}收到了，就是快递慢了两天", "物流有点慢，{product}等了一周才到",
                          "{product}发货比说的晚了一天", "{product}还行，配送时间有点长")},
    "售后服务": {"any": ("问了{product}的问题，客服半天才回", "{product}想换个颜色，退货流程有点麻烦",
                          "{brand}的售后回复有点慢，不过最后解决了")},
    "产品质量": {
        "appliance": ("{product}用着还行，就是做工一般", "{product}质量中规中矩，没有想象中好",
                      "{product}刚拆开有点异味，散了几天才好"),
        "food": ("这批{product}口感一般，质量不如上次", "{product}有一包封口开裂了",
                 "{product}这次质量一般般"),
        "textile": ("{product}洗了一次有点掉色", "{product}用了一个月有点起球",
                    "{product}刚拆开有点异味，晾两天好了"),
        "any": ("{product}用着还行，就是做工一般", "{product}质量中规中矩，没有想象中好",
                "{product}刚拆开有点异味，散了几天才好"),
    },
    "价格/虚假宣传": {"any": ("刚买完{product}就降价了，有点先涨后降的意思", "{product}感觉有点智商税",
                              "{product}实物颜色和图片有点货不对板")},
    "个人信息泄露": {"any": ("买完{product}接了两个骚扰电话，不知道有没有关系",)},
}
COMPLAINT_WEIGHTS = {"物流配送": 30, "售后服务": 20, "产品质量": 30, "价格/虚假宣传": 15, "个人信息泄露": 5}

# Crisis cores: every phrase holds a crisis-category term, the phrases of one list different terms.
CRISIS_CORES: dict[str, dict[str, tuple[str, ...]]] = {
    "产品质量": {
        "appliance": ("用了两天就坏了", "通电后直接不工作了", "内胆涂层开裂", "加热时一股塑料异味",
                      "按键故障失灵", "底部漏水", "质量太差了", "做工粗糙得离谱", "一看就是次品"),
        "food": ("开封就有股异味", "有好几包发霉了", "包装盒开裂", "质量太差了", "一看就是次品",
                 "劣质得离谱"),
        "textile": ("洗一次就掉色", "起球特别严重", "线头到处都是，做工太差", "一股刺鼻异味", "缝线开裂",
                    "劣质面料", "质量太差了"),
        "any": ("用了两天就坏了", "质量太差了", "做工粗糙得离谱", "一看就是次品", "劣质得离谱", "包装开裂",
                "一股刺鼻异味"),
    },
    "人身安全/食品安全": {
        "appliance": ("用着用着突然起火", "外壳漏电手都麻了", "把孩子的手烫伤了", "机器冒烟差点自燃",
                      "砰的一声像要爆炸"),
        "food": ("全家吃完拉肚子", "孩子吃完呕吐不止", "里面吃出了异物", "打开就已经变质", "日期显示早就过期",
                 "腹泻到去医院住院"),
        "textile": ("甲醛味重担心致癌", "里面居然有异物", "孩子盖完过敏住院", "靠近取暖器差点起火"),
        "any": ("里面居然有异物", "孩子用完过敏住院", "放在暖气旁差点起火", "甲醛味重担心致癌",
                "拆开就一股变质的味道"),
    },
    "售后服务": {"any": ("客服一直推诿", "申请退款五天没人处理", "售后敷衍得离谱", "说好的维修拖了半个月",
                          "退货申请被驳回", "发消息根本不理人", "准备去12315投诉", "对接的人态度极差")},
    "物流配送": {"any": ("下单十天还没发货", "快递显示签收但根本没收到", "物流一周没更新", "外箱破损严重",
                          "商家说丢件了让我等", "配送一拖再拖", "延迟了好几天也不通知")},
    "价格/虚假宣传": {"any": ("宣传页面纯属虚假宣传", "参数虚标", "先涨后降玩得明白", "价格欺诈没跑了",
                              "收到的货不对板", "怀疑是假货", "交了智商税", "广告就是骗人的")},
    "个人信息泄露": {"any": ("下单后个人信息全泄露了", "天天接骚扰电话", "诈骗电话能报出我的订单",
                              "手机号被卖了", "信息被卖给了推销的", "一点隐私都没有")},
}
SERVICE_ADDENDA = ("找客服只会复制粘贴", "已经申请退款了", "客服让我等通知", "要求退款还在走流程")
CRISIS_FORMS = (
    "{product}{a}，{b}，{close}", "{intro}买的{product}，{a}，{b}。{close}", "{close} {product}{a}！{b}",
    "#{brand}翻车# {product}{a}，{b}，{close}", "花了{price}块买的{product}，{a}，{b}{end}{close}",
    "{intro}下单的{product}，结果{a}。{b}……{close}", "说一下{product}：{a}；{b}。{close}",
)
CRISIS_INTROS = ("上周", "618", "双11", "刚在直播间", "三天前", "前天", "大促时", "月初")
CLOSERS = ("太失望了", "大家避雷！", "再也不买了", "千万别买", "差评！", "气死我了", "有一样遭遇的吗？",
           "必须曝光一下", "这就是大牌？", "建议大家慎重", "无语了", "给{brand}长点心吧")
KOL_FORM = ("【避雷】最近后台收到大量粉丝反馈：{product}{a}，{b}。我们自己下单实测了一下，{c}。"
            "{brand}官方请给个说法！")
REPOST_COMMENTS = ("转发微博", "转发微博", "转发微博", "扩散", "避雷", "太离谱了", "同款遭遇",
                   "已拉黑这个牌子")
# High-reach accounts: those of the brand's kind, then the general ones (any brand).
KOL_NAMES = {
    "appliance": ("数码家电老K", "家电测评君", "厨房好物研究所"),
    "food": ("吃货研究所", "营养师小林", "零食测评官"),
    "textile": ("家居好物指南", "软装设计师阿May", "睡眠研究室"),
    "any": ("消费维权观察", "生活家小北", "买买买攻略", "科技美学日常"),
}
NICK_ADJECTIVES = ("快乐的", "路过的", "爱笑的", "不想上班的", "认真生活的", "早睡早起的", "努力搬砖的",
                   "佛系的", "热爱生活的", "爱喝奶茶的", "今天也要加油的", "会做饭的")
NICK_NOUNS = ("小猫", "橘子", "大白", "兔子", "阿杰", "小鹿", "咸鱼", "土豆", "豆包", "芒果", "喵喵", "老王",
              "阿May")
NICK_LATIN = ("Lily", "Amy", "Kevin", "Momo", "Jason", "Coco", "Vivi", "Leo")
NICK_CITIES = ("上海", "杭州", "成都", "北京", "深圳", "武汉", "南京", "广州")
# A 双11-like night: extra praise and neutral talk (never complaints), none of it holding a crisis term.
SURGE_FORMS = (
    "双11零点抢到了{product}{end}", "{brand}双11活动价太香了，{product}直接囤了{n}件",
    "付完尾款了，{product}坐等收货{end}", "蹲了一晚上终于抢到{product}{end}",
    "{alias}直播间双11福利好多，{product}又便宜了{n}十块", "双11清单：{product}已加购{end}",
    "今晚{brand}满减力度很大，{product}入手{end}", "{product}双11价格很美丽，冲了{end}",
    "双十一给爸妈也买了{product}{end}",
)
