"""Every word the console shows, in Simplified Chinese and English, from one table.

Chinese is the default: the console is first of all the operations centre's own screen. A user's choice is kept in
``app.storage.user["lang"]`` (see :func:`current_lang`), so it follows them across pages and restarts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"

# key: (简体中文, English). Placeholders use str.format names, identical in both languages.
MESSAGES: dict[str, tuple[str, str]] = {
    "app.title": ("临港孪生 · 运营中心", "Lingang Twin · Operations Centre"),
    "app.clock": ("临港时间", "District time"),
    "lang.switch": ("English", "简体中文"),
    "lang.switch.tip": ("切换到英文", "Switch to Chinese"),
    "theme.dark": ("深色", "Dark"),
    "theme.tip": ("切换明暗主题", "Toggle light / dark theme"),
    "nav.overview": ("总览", "Overview"),
    "nav.entities": ("实体", "Entities"),
    "nav.map": ("地图", "Map"),
    "nav.3d": ("三维", "3D"),
    "live.updated": ("实时更新于 {time}", "Live, updated {time}"),
    # overview
    "overview.title": ("运营总览", "Operations overview"),
    "tile.alerts": ("未关闭告警", "Open alerts"),
    "tile.na": ("暂无", "not available"),
    "tile.na.ops": ("运营包尚未上线", "operations pack not built yet"),
    "empty.store": ("孪生中还没有任何实体。可用 `lingang-twin demo` 构建示范孪生，或通过接口导入。",
                    "The twin holds no entities yet. Build the demo with `lingang-twin demo`, "
                    "or import through the API."),
    # explorer
    "entities.title": ("实体浏览", "Entity explorer"),
    "entities.search": ("按名称、类型或编号搜索", "Search by name, type or id"),
    "entities.type": ("类型", "Type"),
    "entities.any_type": ("全部类型", "All types"),
    "entities.none": ("没有找到匹配“{text}”的实体。", "No entity matches “{text}”."),
    "col.name": ("名称", "Name"),
    "col.type": ("类型", "Type"),
    "col.id": ("编号", "Id"),
    "col.phase": ("阶段", "Phase"),
    "col.value": ("数值", "Value"),
    "col.unit": ("单位", "Unit"),
    "col.property": ("属性", "Property"),
    "col.relationship": ("关系", "Relationship"),
    "col.target": ("目标", "Target"),
    "col.time": ("时间", "Time"),
    # entity page
    "entity.not_found": ("找不到实体 {id}。请检查编号，或回到实体浏览重新搜索。",
                         "There is no entity {id}. Check the id, or search again in the entity explorer."),
    "entity.bad_id": ("“{id}”不是有效的实体编号（应为 urn:ngsi-ld:<类型>:<编号>）。",
                      "“{id}” is not an entity id (expected urn:ngsi-ld:<Type>:<id>)."),
    "entity.properties": ("属性", "Properties"),
    "entity.relationships": ("关系", "Relationships"),
    "entity.ancestors": ("上级（包含于）", "Up the tree (contained in)"),
    "entity.children": ("下级（直接包含）", "Down the tree (directly contains)"),
    "entity.children.more": ("另有 {n} 个未显示", "{n} more not shown"),
    "entity.lifecycle": ("生命周期", "Lifecycle"),
    "entity.history": ("历史曲线", "History"),
    "entity.no_series": ("该实体没有时间序列。", "This entity has no time series."),
    "entity.none": ("无", "none"),
    "history.attribute": ("序列", "Series"),
    "history.bucket": ("时间粒度", "Bucket"),
    "history.agg": ("聚合方式", "Aggregate"),
    "history.days": ("天数", "Days"),
    "history.no_data": ("所选时段内“{attribute}”没有数据。", "No data for “{attribute}” in the chosen period."),
    "history.error": ("无法绘制曲线：{error}", "Cannot draw the chart: {error}"),
    "history.csv": ("导出 CSV", "Export CSV"),
    "bucket.15min": ("15 分钟", "15 min"),
    "bucket.hour": ("小时", "Hour"),
    "bucket.day": ("日", "Day"),
    "bucket.week": ("周", "Week"),
    "bucket.month": ("月", "Month"),
    "bucket.year": ("年", "Year"),
    "agg.sum": ("求和", "Sum"),
    "agg.mean": ("平均", "Mean"),
    "agg.min": ("最小", "Min"),
    "agg.max": ("最大", "Max"),
    "agg.count": ("计数", "Count"),
    "agg.first": ("首值", "First"),
    "agg.last": ("末值", "Last"),
    "agg.delta": ("差值（累计表）", "Delta (cumulative)"),
    "agg.consumption": ("用量（按表型）", "Consumption (by register)"),
    "phase.planned": ("规划", "Planned"),
    "phase.design": ("设计", "Design"),
    "phase.construction": ("建设", "Construction"),
    "phase.operation": ("运营", "Operation"),
    "phase.retired": ("退役", "Retired"),
    # map
    "map.title": ("孪生地图", "District map"),
    "map.legend": ("按生命周期阶段着色；点击建筑打开其详情。",
                   "Coloured by lifecycle phase; click a building to open it."),
    "map.count": ("{n} 个带位置的实体", "{n} entities with a location"),
    "map.empty": ("没有带位置的实体可以显示。", "No entity with a location to show."),
    "map.layers": ("图层", "Layers"),
    "legend.low": ("低（{unit}）", "low ({unit})"),
    "legend.high": ("高（{unit}）", "high ({unit})"),
    "map.colour_by": ("建筑着色", "Colour buildings by"),
    # building metrics (map and 3D)
    "metric.phase": ("生命周期阶段", "Lifecycle phase"),
    "metric.floorArea": ("建筑面积", "Floor area"),
    "metric.floorArea.unit": ("m²", "m²"),
    # 3D twin
    "3d.title": ("三维孪生", "3D twin"),
    "3d.colour_by": ("着色依据", "Colour by"),
    "3d.date": ("日期", "Date"),
    "3d.count": ("{day}：{n} 栋建筑", "{day}: {n} buildings"),
    "3d.click": ("点击建筑打开其详情；拖动旋转，滚轮缩放。",
                 "Click a building to open it; drag to orbit, scroll to zoom."),
    "3d.empty": ("孪生中没有带轮廓的建筑。", "The twin holds no building with a footprint."),
    # entity list paging and last seen
    "col.last_seen": ("最近观测", "Last seen"),
    "entities.page": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "entities.page_size": ("每页", "Per page"),
    "entities.prev": ("上一页", "Previous"),
    "entities.next": ("下一页", "Next"),
    "entities.range": ("共 {total} 个，显示第 {first}–{last} 个", "{total} found, showing {first}–{last}"),
    "entities.never": ("无观测", "never"),
    "entity.panel_error": ("扩展面板出错：{error}", "A panel failed: {error}"),
    # property, series and relationship names of the core types (packs bring theirs through ``Pack.words``)
    "prop.name": ("名称", "Name"),
    "prop.nameEn": ("英文名称", "English name"),
    "prop.description": ("说明", "Description"),
    "prop.area": ("面积", "Area"),
    "prop.floorArea": ("建筑面积", "Floor area"),
    "prop.height": ("高度", "Height"),
    "prop.floors": ("层数", "Floors"),
    "prop.floor": ("楼层", "Floor"),
    "prop.use": ("用途", "Use"),
    "prop.occupants": ("使用人数", "Occupants"),
    "prop.carrier": ("能源品种", "Carrier"),
    "prop.unit": ("计量单位", "Unit"),
    "prop.register": ("计数方式", "Register"),
    "prop.registerMax": ("表盘上限", "Register maximum"),
    "prop.registerResets": ("清零记录", "Register resets"),
    "prop.readingInterval": ("抄表间隔", "Reading interval"),
    "prop.endUse": ("末端用途", "End use"),
    "prop.employees": ("员工数", "Employees"),
    "prop.industry": ("行业", "Industry"),
    "prop.industryZh": ("行业（中文）", "Industry (Chinese)"),
    "prop.incubated": ("在孵", "Incubated"),
    "prop.landUse": ("用地性质", "Land use"),
    "prop.maximumAllowedSpeed": ("限速", "Speed limit"),
    "prop.length": ("长度", "Length"),
    "prop.width": ("宽度", "Width"),
    "prop.roadClass": ("道路等级", "Road class"),
    "prop.totalLaneNumber": ("车道数", "Lanes"),
    "prop.altitude": ("海拔", "Altitude"),
    "prop.stationCode": ("站号", "Station code"),
    "prop.focus": ("功能定位", "Focus"),
    "prop.functions": ("功能", "Functions"),
    "prop.park": ("园区", "Park"),
    "prop.field": ("领域", "Field"),
    "prop.sector": ("板块", "Sector"),
    "prop.tenure": ("权属", "Tenure"),
    "prop.subtype": ("子类", "Subtype"),
    "prop.schoolLevel": ("学段", "School level"),
    "prop.geometryNote": ("几何说明", "Geometry note"),
    "prop.demoSeed": ("示范数据随机种子", "Demo seed"),
    "prop.reading": ("读数", "Reading"),
    "prop.temperature": ("气温", "Temperature"),
    "prop.relativeHumidity": ("相对湿度", "Relative humidity"),
    "prop.visitors": ("访客", "Visitors"),
    "prop.containedIn": ("包含于", "Contained in"),
    "prop.submeterOf": ("上级表", "Sub-meter of"),
    "prop.tenant": ("租户", "Tenant"),
    "prop.occupies": ("租用", "Occupies"),
    "prop.servesRoute": ("服务线路", "Serves route"),
    "prop.onRoute": ("所在线路", "On route"),
    # Enumerated property values of the core types, as value.<property>.<value> (issue 9: they showed in English
    # in the Chinese console). Only closed vocabularies: names and other free text are never looked up here.
    # Packs bring the values of their own types through ``Pack.words`` under the same keys.
    "value.use.office": ("办公", "Office"),
    "value.use.lab": ("实验室", "Lab"),
    "value.use.school": ("学校", "School"),
    "value.use.residential": ("住宅", "Residential"),
    "value.use.hotel": ("酒店", "Hotel"),
    "value.use.retail": ("商业", "Retail"),
    "value.use.incubator": ("孵化器", "Incubator"),
    "value.use.data_centre": ("数据中心", "Data centre"),
    "value.use.health_centre": ("卫生服务中心", "Health centre"),
    "value.use.community_centre": ("社区中心", "Community centre"),
    "value.use.tech_platform": ("科技公共平台", "Technology platform"),
    "value.use.park": ("公园", "Park"),
    "value.use.venue": ("会展场馆", "Venue"),
    "value.use.conference": ("会议中心", "Conference centre"),
    "value.landUse.research": ("科研用地", "Research"),
    "value.landUse.education": ("教育用地", "Education"),
    "value.landUse.residential": ("居住用地", "Residential"),
    "value.landUse.commercial": ("商业办公用地", "Commercial"),
    "value.landUse.community": ("社区服务用地", "Community"),
    "value.landUse.public": ("公共设施用地", "Public"),
    "value.landUse.utility": ("市政设施用地", "Utility"),
    "value.roadClass.primary": ("主干路", "Primary"),
    "value.roadClass.secondary": ("次干路", "Secondary"),
    "value.roadClass.tertiary": ("支路", "Tertiary"),
    "value.roadClass.residential": ("街坊路", "Residential street"),
    "value.schoolLevel.kindergarten": ("幼儿园", "Kindergarten"),
    "value.schoolLevel.primary": ("小学", "Primary"),
    "value.schoolLevel.middle": ("初中", "Middle school"),
    "value.schoolLevel.high": ("高中", "High school"),
    "value.schoolLevel.nine_year": ("九年一贯制", "Nine-year school"),
    "value.schoolLevel.k12": ("十二年一贯制", "K-12"),
    "value.subtype.scientist_workstation": ("科学家工作站", "Scientist workstation"),
    "value.tenure.public_rental": ("公共租赁", "Public rental"),
    "value.functions.conference": ("会议", "Conference"),
    "value.functions.hotel": ("酒店", "Hotel"),
    "value.functions.library": ("图书馆", "Library"),
    "value.functions.theatre": ("剧场", "Theatre"),
    "value.register.interval": ("区间读数", "Interval"),
    "value.register.cumulative": ("累计读数", "Cumulative"),
    "value.endUse.main": ("总表", "Main meter"),
    "value.endUse.hvac": ("暖通空调", "HVAC"),
    "value.endUse.lighting": ("照明", "Lighting"),
    "value.endUse.plug": ("插座", "Plug loads"),
    "value.endUse.process": ("实验工艺", "Lab process"),
    "value.endUse.it": ("IT 设备", "IT load"),
    "value.endUse.kitchen": ("厨房", "Kitchen"),
    "value.endUse.domestic": ("生活用水", "Domestic water"),
    "value.endUse.cooling_tower": ("冷却塔补水", "Cooling-tower make-up"),
    "value.endUse.heating": ("采暖及热水", "Space and water heating"),
    "value.endUse.generator": ("备用发电机", "Backup generator"),
    "value.endUse.other": ("其他", "Other"),
    # errors
    "error.page": ("页面出错了：{error}", "This page failed: {error}"),
    "error.not_found": ("没有这个页面：{path}", "There is no page {path}"),
}


def text(key: str, lang: Lang, /, **values: object) -> str:
    """The message ``key`` in ``lang``, with ``values`` filled in. An unknown key shows itself (never raises):
    a missing translation must not take a page down."""
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    template = pair[0] if lang == "zh" else pair[1]
    return template.format(**values) if values else template


def property_label(name: str, lang: Lang, extra: Mapping[str, tuple[str, str]] | None = None) -> str:
    """A property, series or relationship name as people read it in ``lang`` (the console's table, then the words
    packs brought in ``extra``); a name nobody translated shows as itself."""
    pair = MESSAGES.get(f"prop.{name}") or (extra or {}).get(f"prop.{name}")
    return pick(pair, lang) if pair else name


def value_label(name: str, value: object, lang: Lang, extra: Mapping[str, tuple[str, str]] | None = None) -> str:
    """An enumerated value of property ``name`` (``use: office`` → 办公 / Office) in ``lang``, from the console's
    ``value.<name>.<value>`` table, then the packs' words in ``extra`` (a meter's carrier among them). Anything
    else — free text, numbers, a value nobody listed — shows as stored."""
    if not isinstance(value, str):
        return str(value)
    key = f"value.{name}.{value}"
    pair = MESSAGES.get(key) or (extra or {}).get(key)
    return pick(pair, lang) if pair else value


def type_label(name: str, label: tuple[str, str], lang: Lang) -> str:
    """An entity type's name in ``lang`` from its registered ``label`` (中文, English); the name when unlabelled."""
    chosen = pick(label, lang) if label else ""
    return chosen or name


def pick(pair: tuple[str, str], lang: Lang) -> str:
    """Choose from a ``(中文, English)`` pair (packs bring their own pairs)."""
    return pair[0] if lang == "zh" else pair[1]


def current_lang() -> Lang:
    """The language of the user of the current page (``app.storage.user``), Chinese when none was chosen."""
    from nicegui import app

    try:
        lang = app.storage.user.get("lang", DEFAULT_LANG)
    except RuntimeError:  # outside a page (a background timer): the default
        return DEFAULT_LANG
    return lang if lang in LANGS else DEFAULT_LANG
