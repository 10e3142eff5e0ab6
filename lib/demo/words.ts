/**
 * Word lists of the demo's advertising-claims data set (lib/demo/ad-claims.ts).
 *
 * The classes follow the reference system's domain (Chinese advertising law:
 * compliant copy versus false or exaggerated claims). Several lists exist only
 * to make the task hard for a keyword rule: compliant sentences that contain a
 * banned-looking character or word used in a harmless sense (第一次, 最近,
 * 不能代替药物治疗, 500毫升), so that 最 / 第一 / 治疗 / 专家 / digits alone do
 * not decide the class.
 */

/** Class names, in id order (written to class_id.txt). */
export const CLASSES = ['合规', '绝对化用语', '医疗功效', '保证效果', '虚假权威', '夸大数字'] as const;
export type AdClass = (typeof CLASSES)[number];

export const PRODUCTS = [
  '保湿面霜', '洗发水', '沐浴露', '护手霜', '防晒乳', '洁面乳', '精华液', '口红', '眼霜', '面膜',
  '蜂蜜', '枸杞', '燕麦片', '绿茶', '咖啡豆', '牛奶', '酸奶', '坚果礼盒', '红枣', '黑芝麻糊',
  '蛋白粉', '维生素片', '鱼油', '钙片', '益生菌', '代餐粉', '酵素饮', '阿胶糕', '人参茶', '灵芝孢子粉',
  '按摩椅', '颈椎枕', '足浴盆', '电动牙刷', '净水器', '空气净化器', '加湿器', '扫地机器人', '电饭煲', '榨汁机',
  '床垫', '羽绒被', '乳胶枕', '运动鞋', '羊毛衫', '保温杯', '不粘锅', '洗衣液', '驱蚊液', '儿童奶粉',
];

export const BRANDS = ['悦然', '禾丰', '清沐', '康源', '优品', '自然堂', '百草园', '山水间', '金穗', '晨光', '雅诗', '暖阳', '青禾', '森林家', '华康'];

/** Plain, checkable descriptions: the body of compliant copy. */
export const PLAIN_FEATURES = [
  '质地清爽不油腻', '采用可回收包装', '适合日常使用', '口感香甜', '含有天然植物成分', '外观简洁大方',
  '容量500毫升', '净含量250克', '操作简单方便', '噪音较低', '支持快充', '颜色有三种可选', '配料表干净',
  '冷藏保存口感更好', '建议开封后一个月内用完', '全国包邮', '支持七天无理由退换', '产地直发', '独立小包装便于携带',
  '适合干性肌肤', '每天早晚各一次', '材质柔软亲肤', '清洗方便', '机身轻巧', '提供一年质保', '使用说明书附在盒内',
  '香味淡雅', '有大小两种规格', '可以放进洗碗机', '适合全家人使用', '味道偏甜', '续航大约八小时', '插电即可使用',
];

/**
 * Compliant sentences that carry a word the other classes use, in a harmless
 * sense. These make the task not separable by one keyword.
 */
export const DECOYS = [
  '第一次使用建议先在耳后试用', '最近天气干燥请注意补水', '本品不能代替药物治疗', '孕妇及过敏体质者请咨询医生后使用',
  '效果因人而异请以实际体验为准', '我们无法保证每个人都适合', '第一批货已经发出', '最多可以叠加两张优惠券',
  '专家提醒饮食要均衡', '本店销量数据以平台统计为准', '活动截止到本月最后一天', '最后三天恢复原价',
  '请遵医嘱服用相关药品', '本品为普通食品不具有治疗作用', '第一步清洁第二步涂抹', '满99元可以减10元',
  '三天内发货', '保证金由平台托管', '包装上印有生产日期', '用户评价来自真实购买', '价格最低到月底恢复',
  '配方参考了营养师的建议', '有100种颜色可以选择', '一共有3个尺码', '认证信息可在官网查询编号',
];

/**
 * Compliant frames that quote a claim only to deny it ("we do not promise X"):
 * the claim phrase is there, the copy is fine. Only the context tells.
 */
export const NEGATIONS = ['我们不承诺{c}', '本品并非{c}', '请勿轻信{c}之类的宣传', '广告法禁止宣称{c}', '不夸大不虚构，不说{c}', '没有{c}这回事'];

/** 绝对化用语: superlatives and "number one" claims. */
export const ABSOLUTE = [
  '全网最好', '销量第一', '国家级产品', '顶级品质', '唯一正品', '最高级配方', '史上最强', '行业第一品牌',
  '世界领先', '最佳选择', '极品中的极品', '独一无二', '全球首发最先进', '最安全的', '绝无仅有', '王牌产品',
  '最有效的', '万能', '最低价全网', '领袖品牌', '第一选择', '巅峰之作', '最正宗', '天下第一',
];

/** 医疗功效: a non-drug claiming to treat or cure. */
export const MEDICAL = [
  '治愈失眠', '根治脱发', '药到病除', '降血压', '降血糖', '消炎止痛', '治疗湿疹', '抗癌防癌', '预防心脏病',
  '修复受损细胞', '排毒养颜治便秘', '祛斑美白治疗痘痘', '增强免疫力治百病', '疏通血管', '改善糖尿病', '治疗颈椎病',
  '根除口臭', '缓解关节炎疼痛', '调理内分泌失调', '治好胃病', '杀菌消炎', '溶解血栓',
];

/** 保证效果: guaranteed results, refunds tied to efficacy, fixed time-to-effect. */
export const GUARANTEE = [
  '保证有效', '无效退款', '100%有效', '七天见效', '三天瘦十斤', '一次见效', '永不反弹', '包治包好',
  '用了就有效果', '不瘦全额退款', '立竿见影', '一周白一个度', '三个月长高五厘米', '保证不掉色永久使用',
  '零风险承诺见效', '无效双倍赔付', '当天见效', '彻底告别', '效果终身保持', '百分百成功',
];

/** 虚假权威: unverifiable endorsements and authorities. */
export const AUTHORITY = [
  '专家推荐', '央视推荐', '权威认证', '诺贝尔奖得主研发', '医生都在用', '国家卫健委指定', '明星同款强烈推荐',
  '哈佛大学研究证实', '中科院专利技术', '院士团队监制', '国际权威机构认证', '三甲医院推荐', '航天科技',
  '皇室御用', '协会唯一指定', '教授亲自背书', '联合国推荐', '专家团队认证推荐',
];

/** 夸大数字: exaggerated sales, user and result numbers. */
export const NUMBERS = [
  '销量突破一亿', '99.9%用户好评', '1000万家庭的选择', '全球卖出5亿件', '好评率99%', '每秒卖出100瓶',
  '回购率高达98%', '三千万人都在用', '累计销售十亿盒', '97%的人一周见变化', '复购超过500万次', '连续十年销量翻倍',
  '两亿用户信赖', '百万网友实测', '吸收率提升300%', '效率提高十倍',
];

/** Sentence frames. {b} brand, {p} product, {c} the claim, {f} a plain feature. */
export const CLAIM_TEMPLATES = [
  '{b}{p}{c}', '{b}{p}，{c}', '这款{p}{c}，{f}', '{c}！{b}{p}现在下单', '{p}{c}，快来抢购', '我们的{p}{c}',
  '{f}，{b}{p}{c}', '新品{p}：{c}', '【{b}】{p}{c}，{f}', '{c}的{p}，就选{b}', '买{p}认准{b}，{c}',
];

export const PLAIN_TEMPLATES = [
  '{b}{p}{f}', '这款{p}{f}，{f2}', '{b}{p}：{f}', '【{b}】{p}{f}，{f2}', '{p}{f}', '我们的{p}{f}', '新品{p}上市，{f}',
  '{f}，{b}{p}欢迎选购', '买{p}就看{b}，{f}',
];

/** Similar-looking or similar-sounding characters for typos (a user's copy is not clean). */
export const TYPOS: Record<string, string> = {
  最: '醉', 第: '弟', 保: '宝', 证: '正', 效: '笑', 治: '冶', 愈: '俞', 推: '堆', 荐: '存', 权: '全', 销: '消',
  量: '亮', 专: '砖', 家: '佳', 好: '号', 有: '又', 品: '拼', 一: '壹', 级: '极', 顶: '鼎', 唯: '惟', 根: '跟',
  病: '并', 血: '雪', 压: '丫', 降: '绛', 糖: '唐', 退: '腿', 款: '宽', 见: '件', 威: '危', 认: '任', 央: '秧',
  亿: '忆', 万: '方', 突: '凸', 破: '坡', 率: '律',
};
