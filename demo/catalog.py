"""The demo's bonded goods: ~200 items from four overseas merchants, generated from templates
so that names, HS codes, barcodes and weights are plausible and stable between runs."""

from dataclasses import dataclass
from decimal import Decimal

from stdnum import ean

AU, DE, JP, US = "4101960001", "4101960002", "4101960003", "4101960004"
BARCODE_PREFIX = {AU: "93", DE: "40", JP: "45", US: "00"}
ORIGIN = {AU: "AU", DE: "DE", JP: "JP", US: "US"}


@dataclass(frozen=True)
class Template:
    merchant: str
    brand_en: str
    brand_zh: str
    name_en: str  # may contain {v}
    name_zh: str
    hs_code: str
    net_kg: str
    variants: tuple
    base_price: str  # CNY for the first variant; later variants a little dearer


TEMPLATES = [
    # Aussie Nature Co. (AU)
    Template(AU, "Aussie Nature", "澳洲自然", "Manuka Honey MGO {v}+ 250g", "麦卢卡蜂蜜 MGO{v}+ 250克",
             "0409000000", "0.250", (83, 263, 514, 829), "129.00"),
    Template(AU, "Aussie Nature", "澳洲自然", "Fish Oil 1000mg, {v} capsules", "深海鱼油软胶囊 1000毫克 {v}粒",
             "2106909090", "0.300", (100, 200, 400), "89.00"),
    Template(AU, "Aussie Nature", "澳洲自然", "Vitamin C 500mg, {v} tablets", "维生素C咀嚼片 500毫克 {v}片",
             "2106909090", "0.150", (60, 120, 200), "59.00"),
    Template(AU, "Southern Cross", "南十字星", "Calcium + Vitamin D, {v} tablets", "钙+维生素D片 {v}片",
             "2106909090", "0.250", (60, 120, 200, 300), "79.00"),
    Template(AU, "Southern Cross", "南十字星", "Lanolin Cream {v}g", "绵羊油面霜 {v}克",
             "3304990099", "0.100", (100, 250), "45.00"),
    Template(AU, "Koala Farm", "考拉牧场", "Goat Milk Powder {v}g", "全脂羊奶粉 {v}克",
             "0402210000", "0.400", (400, 800, 1000), "168.00"),
    Template(AU, "Koala Farm", "考拉牧场", "Propolis Toothpaste {v}g", "蜂胶牙膏 {v}克",
             "3306101000", "0.120", (100, 150), "39.00"),
    Template(AU, "Barossa Hills", "巴罗萨山丘", "Shiraz Red Wine 750ml, {v}", "西拉干红葡萄酒 750毫升 {v}年",
             "2204210000", "1.200", (2017, 2018, 2019, 2020, 2021), "198.00"),
    Template(AU, "Aussie Nature", "澳洲自然", "Grape Seed Extract, {v} capsules", "葡萄籽精华胶囊 {v}粒",
             "2106909090", "0.120", (60, 120, 180), "99.00"),
    Template(AU, "Southern Cross", "南十字星", "Royal Jelly 1000mg, {v} capsules", "蜂王浆胶囊 1000毫克 {v}粒",
             "2106909090", "0.200", (100, 365), "149.00"),
    # Rhein Dairy GmbH (DE)
    Template(DE, "Rhein Milch", "莱茵乳业", "Infant Formula Stage {v}, 800g", "婴儿配方奶粉 {v}段 800克",
             "1901101000", "0.800", (1, 2, 3, 4), "228.00"),
    Template(DE, "Alpenwiese", "阿尔卑斯草原", "Organic Infant Formula Stage {v}, 600g", "有机婴儿配方奶粉 {v}段 600克",
             "1901101000", "0.600", (1, 2, 3), "268.00"),
    Template(DE, "Rhein Milch", "莱茵乳业", "Whole Milk Powder {v}g", "全脂奶粉 {v}克",
             "0402210000", "0.500", (500, 1000), "98.00"),
    Template(DE, "Schwarzwald", "黑森林", "Dark Chocolate {v}% 100g", "黑巧克力 {v}% 100克",
             "1806320000", "0.100", (55, 70, 85, 90, 99), "25.00"),
    Template(DE, "Kräuterhaus", "草本之家", "Herbal Toothpaste 75ml, {v}", "草本牙膏 75毫升 {v}",
             "3306101000", "0.090", ("Mint", "Sage", "Chamomile", "Sensitive"), "32.00"),
    Template(DE, "Kräuterhaus", "草本之家", "Baby Wash & Shampoo {v}ml", "婴儿洗发沐浴露 {v}毫升",
             "3401300000", "0.200", (200, 400, 750), "49.00"),
    Template(DE, "Wanderlust", "漫游者", "Leather Walking Shoes, EU {v}", "真皮健步鞋 欧码{v}",
             "6403990000", "0.900", (36, 37, 38, 39, 40, 41, 42, 43, 44, 45), "699.00"),
    Template(DE, "Rhein Milch", "莱茵乳业", "Children's Growing-up Milk {v}+, 800g", "儿童成长奶粉 {v}岁+ 800克",
             "0402210000", "0.800", (3, 6), "188.00"),
    Template(DE, "Schwarzwald", "黑森林", "Milk Chocolate with {v}, 100g", "{v}牛奶巧克力 100克",
             "1806320000", "0.100", ("Hazelnuts", "Almonds", "Raisins", "Caramel"), "22.00"),
    # Sakura Beauty KK (JP)
    Template(JP, "Sakura", "樱花", "Hyaluronic Acid Serum {v}ml", "玻尿酸保湿精华液 {v}毫升",
             "3304990099", "0.050", (30, 50, 100), "329.00"),
    Template(JP, "Sakura", "樱花", "Brightening Essence {v}ml", "美白精华露 {v}毫升",
             "3304990099", "0.060", (30, 75, 150), "459.00"),
    Template(JP, "Sakura", "樱花", "Moisturising Lipstick #{v}", "滋润口红 #{v}",
             "3304100000", "0.005", ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10"), "189.00"),
    Template(JP, "Hana Hada", "花肌", "Facial Cleansing Foam {v}g", "氨基酸洁面乳 {v}克",
             "3401300000", "0.120", (100, 150), "69.00"),
    Template(JP, "Hana Hada", "花肌", "Baby Diapers size {v}", "婴儿纸尿裤 {v}码",
             "9619001100", "1.500", ("NB", "S", "M", "L", "XL", "XXL"), "139.00"),
    Template(JP, "Hana Hada", "花肌", "Sunscreen SPF50+ {v}ml", "清爽防晒乳 SPF50+ {v}毫升",
             "3304990099", "0.060", (40, 60, 90), "159.00"),
    Template(JP, "Sakura", "樱花", "Night Repair Cream {v}g", "夜间修护面霜 {v}克",
             "3304990099", "0.050", (30, 50), "599.00"),
    Template(JP, "Hana Hada", "花肌", "Face Mask, box of {v}", "补水面膜 {v}片装",
             "3304990099", "0.250", (5, 10, 30), "99.00"),
    Template(JP, "Sakura", "樱花", "Tinted Lip Balm #{v}", "润色唇膏 #{v}",
             "3304100000", "0.004", ("Peach", "Rose", "Berry", "Clear"), "89.00"),
    # Liberty Vitamins Inc. (US, still pending approval in the demo)
    Template(US, "Liberty", "自由维他", "Multivitamin, {v} tablets", "复合维生素片 {v}片",
             "2106909090", "0.250", (100, 200, 365), "139.00"),
    Template(US, "Liberty", "自由维他", "Probiotic 50B, {v} capsules", "益生菌胶囊 500亿 {v}粒",
             "2106909090", "0.100", (30, 60), "199.00"),
    Template(US, "Liberty", "自由维他", "Glucosamine, {v} tablets", "氨糖软骨素片 {v}片",
             "2106909090", "0.300", (90, 180), "219.00"),
]  # fmt: skip


@dataclass(frozen=True)
class DemoItem:
    item_no: str
    barcode: str
    name_zh: str
    name_en: str
    hs_code: str
    origin_country: str
    owner_code: str
    net_weight_kg: Decimal
    gross_weight_kg: Decimal
    brand_en: str
    brand_zh: str
    reference_price: Decimal
    initial_stock: int


PACKS = ((1, "", "", Decimal("1")), (2, " (twin pack)", "（两件装）", Decimal("1.9")))


def demo_items() -> list[DemoItem]:
    """Every variant of every template, single and as a twin pack: 222 items."""
    items = []
    for template in TEMPLATES:
        for position, variant in enumerate(template.variants):
            name_zh, name_en = (
                template.name_zh.format(v=variant),
                template.name_en.format(v=variant),
            )
            for count, suffix_en, suffix_zh, price_factor in PACKS:
                n = len(items) + 1
                body = BARCODE_PREFIX[template.merchant] + f"{n:010d}"
                net = Decimal(template.net_kg) * count
                price = Decimal(template.base_price) * (1 + Decimal(position) / 10) * price_factor
                items.append(
                    DemoItem(
                        item_no=f"GI{n:06d}",
                        barcode=body + ean.calc_check_digit(body),
                        name_zh=f"{template.brand_zh} {name_zh}{suffix_zh}",
                        name_en=f"{template.brand_en} {name_en}{suffix_en}",
                        hs_code=template.hs_code,
                        origin_country=ORIGIN[template.merchant],
                        owner_code=template.merchant,
                        net_weight_kg=net,
                        gross_weight_kg=(net * Decimal("1.15") + Decimal("0.020")).quantize(
                            Decimal("0.001")
                        ),
                        brand_en=template.brand_en,
                        brand_zh=template.brand_zh,
                        reference_price=price.quantize(Decimal("1")) - Decimal("0.10"),
                        initial_stock=20 + (n * 37) % 280,
                    )
                )
    return items
