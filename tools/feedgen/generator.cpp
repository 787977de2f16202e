#include "tools/feedgen/generator.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <numeric>

namespace kofu::feedgen {

namespace {

// -- randomness -----------------------------------------------------------------------------------

/// SplitMix64's finalizer: a bijective 64-bit mix.
constexpr uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The random stream of one (seed, person, purpose): SplitMix64, seeded by hashing the three.
class rng {
public:
  rng(uint64_t seed, uint64_t index, uint64_t stream)
    : state_(mix64(mix64(seed ^ 0x6B6F6675ull) ^ mix64(index + 0x9E3779B97F4A7C15ull)
                   ^ (stream * 0xD1B54A32D192ED03ull))) {
    // nop
  }

  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return mix64(state_);
  }

  /// Uniform in [0, n); n > 0.
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

  /// Uniform in [lo, hi].
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }

  /// Uniform in [0, 1).
  double uniform() {
    return static_cast<double>(next() >> 11) * 0x1.0p-53;
  }

  bool chance(double p) {
    return uniform() < p;
  }

  /// Log-normal around `median`, clamped to [lo, hi], in whole yen.
  int64_t log_normal(double median, double sigma, int64_t lo, int64_t hi) {
    // Box-Muller; 1 - uniform() is in (0, 1], so the log is finite.
    double z = std::sqrt(-2.0 * std::log(1.0 - uniform())) * std::cos(6.283185307179586 * uniform());
    auto v = static_cast<int64_t>(median * std::exp(sigma * z));
    return std::clamp(v, lo, hi);
  }

private:
  uint64_t state_;
};

/// Distinct purposes of the streams of one person.
constexpr uint64_t stable_stream = 1;  // what never changes: name, birth date, Jan-1 address
constexpr uint64_t revision_stream = 2; // what a later revision may change (shifted by revision)

// -- resident codes -------------------------------------------------------------------------------

constexpr uint64_t code_half = 100'000; // the Feistel halves: 10^5 x 10^5 = 10^10 values

/// A seeded permutation of [0, 10^10): a four-round Feistel network on two halves mod 10^5.
uint64_t permute_code(uint64_t seed, uint64_t x) {
  uint64_t left = x / code_half;
  uint64_t right = x % code_half;
  for (uint64_t round = 0; round < 4; ++round) {
    uint64_t f = mix64(seed * 0xA24BAED4963EE407ull + round * 0x9FB21C651E98DF25ull + right) % code_half;
    uint64_t next_right = (left + f) % code_half;
    left = right;
    right = next_right;
  }
  return left * code_half + right;
}

// -- tables ---------------------------------------------------------------------------------------

struct name_entry {
  std::string_view kanji;
  std::string_view kana;
};

/// About a hundred of the most common surnames, with their readings.
constexpr std::array<name_entry, 100> surnames = {{
  {"佐藤", "サトウ"}, {"鈴木", "スズキ"}, {"高橋", "タカハシ"}, {"田中", "タナカ"},
  {"伊藤", "イトウ"}, {"渡辺", "ワタナベ"}, {"山本", "ヤマモト"}, {"中村", "ナカムラ"},
  {"小林", "コバヤシ"}, {"加藤", "カトウ"}, {"吉田", "ヨシダ"}, {"山田", "ヤマダ"},
  {"佐々木", "ササキ"}, {"山口", "ヤマグチ"}, {"松本", "マツモト"}, {"井上", "イノウエ"},
  {"木村", "キムラ"}, {"林", "ハヤシ"}, {"斎藤", "サイトウ"}, {"清水", "シミズ"},
  {"山崎", "ヤマザキ"}, {"森", "モリ"}, {"池田", "イケダ"}, {"橋本", "ハシモト"},
  {"阿部", "アベ"}, {"石川", "イシカワ"}, {"山下", "ヤマシタ"}, {"中島", "ナカジマ"},
  {"石井", "イシイ"}, {"小川", "オガワ"}, {"前田", "マエダ"}, {"岡田", "オカダ"},
  {"長谷川", "ハセガワ"}, {"藤田", "フジタ"}, {"後藤", "ゴトウ"}, {"近藤", "コンドウ"},
  {"村上", "ムラカミ"}, {"遠藤", "エンドウ"}, {"青木", "アオキ"}, {"坂本", "サカモト"},
  {"斉藤", "サイトウ"}, {"福田", "フクダ"}, {"太田", "オオタ"}, {"西村", "ニシムラ"},
  {"藤井", "フジイ"}, {"金子", "カネコ"}, {"岡本", "オカモト"}, {"藤原", "フジワラ"},
  {"中野", "ナカノ"}, {"三浦", "ミウラ"}, {"原田", "ハラダ"}, {"中川", "ナカガワ"},
  {"松田", "マツダ"}, {"竹内", "タケウチ"}, {"小野", "オノ"}, {"田村", "タムラ"},
  {"中山", "ナカヤマ"}, {"和田", "ワダ"}, {"石田", "イシダ"}, {"森田", "モリタ"},
  {"上田", "ウエダ"}, {"原", "ハラ"}, {"内田", "ウチダ"}, {"柴田", "シバタ"},
  {"酒井", "サカイ"}, {"宮崎", "ミヤザキ"}, {"横山", "ヨコヤマ"}, {"高木", "タカギ"},
  {"安藤", "アンドウ"}, {"宮本", "ミヤモト"}, {"大野", "オオノ"}, {"小島", "コジマ"},
  {"谷口", "タニグチ"}, {"今井", "イマイ"}, {"工藤", "クドウ"}, {"高田", "タカダ"},
  {"増田", "マスダ"}, {"丸山", "マルヤマ"}, {"杉山", "スギヤマ"}, {"村田", "ムラタ"},
  {"大塚", "オオツカ"}, {"新井", "アライ"}, {"小山", "コヤマ"}, {"平野", "ヒラノ"},
  {"藤本", "フジモト"}, {"河野", "コウノ"}, {"上野", "ウエノ"}, {"野口", "ノグチ"},
  {"武田", "タケダ"}, {"松井", "マツイ"}, {"辻", "ツジ"}, {"岩崎", "イワサキ"},
  {"北村", "キタムラ"}, {"木下", "キノシタ"}, {"久保", "クボ"}, {"奥田", "オクダ"},
  {"野村", "ノムラ"}, {"松尾", "マツオ"}, {"西田", "ニシダ"}, {"大西", "オオニシ"},
}};

/// Surnames written with characters outside JIS X 0208: 異体字 of common names, a character
/// outside the BMP and ideographic variation sequences. `cp932` is what a CP932 feed writes.
struct rare_name {
  std::string_view kanji;
  std::string_view cp932;
  std::string_view kana;
};

constexpr std::array<rare_name, 9> rare_surnames = {{
  {"髙橋", "髙橋", "タカハシ"},         // U+9AD9, CP932 IBM extension
  {"山﨑", "山﨑", "ヤマザキ"},         // U+FA11, CP932 IBM extension
  {"\U00020BB7田", "吉田", "ヨシダ"},  // U+20BB7 (つちよし), not in CP932
  {"葛\U000E0100城", "葛城", "カツラギ"}, // 葛 with variation selector 17
  {"葛\U000E0102西", "葛西", "カサイ"},   // 葛 with variation selector 19
  {"渡邉", "渡邉", "ワタナベ"},
  {"渡邊", "渡邊", "ワタナベ"},
  {"齋藤", "齋藤", "サイトウ"},
  {"濵田", "濵田", "ハマダ"},
}};

/// The generations a given name is typical of: born up to 1955, 1956 to 1985, from 1986.
constexpr uint8_t era_old = 1, era_mid = 2, era_young = 4;

struct given_name {
  std::string_view kanji;
  std::string_view kana;
  uint8_t eras;
};

constexpr std::array<given_name, 100> given_names = {{
  {"清", "キヨシ", era_old}, {"茂", "シゲル", era_old}, {"勇", "イサム", era_old},
  {"実", "ミノル", era_old}, {"博", "ヒロシ", era_old | era_mid}, {"進", "ススム", era_old},
  {"和夫", "カズオ", era_old}, {"正男", "マサオ", era_old}, {"幸男", "ユキオ", era_old},
  {"一郎", "イチロウ", era_old | era_mid}, {"三郎", "サブロウ", era_old}, {"武", "タケシ", era_old},
  {"隆", "タカシ", era_old | era_mid}, {"明", "アキラ", era_old | era_mid},
  {"修", "オサム", era_old | era_mid}, {"浩", "ヒロシ", era_mid}, {"誠", "マコト", era_mid},
  {"健一", "ケンイチ", era_mid}, {"秀樹", "ヒデキ", era_mid}, {"雅之", "マサユキ", era_mid},
  {"哲也", "テツヤ", era_mid}, {"和也", "カズヤ", era_mid}, {"達也", "タツヤ", era_mid},
  {"剛", "ツヨシ", era_mid}, {"直樹", "ナオキ", era_mid | era_young},
  {"大輔", "ダイスケ", era_mid | era_young}, {"拓也", "タクヤ", era_mid | era_young},
  {"健太", "ケンタ", era_young}, {"翔太", "ショウタ", era_young}, {"亮", "リョウ", era_young},
  {"大樹", "ダイキ", era_young}, {"悠斗", "ユウト", era_young}, {"陽翔", "ハルト", era_young},
  {"蓮", "レン", era_young}, {"湊", "ミナト", era_young}, {"大和", "ヤマト", era_young},
  {"悠真", "ユウマ", era_young}, {"颯太", "ソウタ", era_young}, {"翼", "ツバサ", era_young},
  {"涼介", "リョウスケ", era_young}, {"裕介", "ユウスケ", era_mid | era_young},
  {"智也", "トモヤ", era_young}, {"康弘", "ヤスヒロ", era_mid}, {"俊介", "シュンスケ", era_young},
  {"航", "ワタル", era_young}, {"樹", "イツキ", era_young}, {"太郎", "タロウ", era_old | era_mid},
  {"伸也", "シンヤ", era_mid}, {"光", "ヒカル", era_young}, {"優斗", "ユウト", era_young},
  {"花子", "ハナコ", era_old}, {"幸子", "サチコ", era_old}, {"和子", "カズコ", era_old},
  {"節子", "セツコ", era_old}, {"文子", "フミコ", era_old}, {"千代子", "チヨコ", era_old},
  {"静子", "シズコ", era_old}, {"光子", "ミツコ", era_old}, {"春子", "ハルコ", era_old},
  {"芳子", "ヨシコ", era_old}, {"照子", "テルコ", era_old}, {"洋子", "ヨウコ", era_old | era_mid},
  {"恵子", "ケイコ", era_old | era_mid}, {"京子", "キョウコ", era_old | era_mid},
  {"久美子", "クミコ", era_mid}, {"由美子", "ユミコ", era_mid}, {"真由美", "マユミ", era_mid},
  {"裕子", "ユウコ", era_mid}, {"智子", "トモコ", era_mid}, {"陽子", "ヨウコ", era_mid},
  {"直美", "ナオミ", era_mid}, {"明美", "アケミ", era_mid}, {"美香", "ミカ", era_mid},
  {"恵", "メグミ", era_mid | era_young}, {"香織", "カオリ", era_mid},
  {"美穂", "ミホ", era_mid | era_young}, {"沙織", "サオリ", era_mid | era_young},
  {"愛", "アイ", era_young}, {"舞", "マイ", era_young}, {"彩", "アヤ", era_young},
  {"麻衣", "マイ", era_young}, {"千尋", "チヒロ", era_young}, {"優子", "ユウコ", era_mid},
  {"陽菜", "ヒナ", era_young}, {"結衣", "ユイ", era_young}, {"葵", "アオイ", era_young},
  {"さくら", "サクラ", era_young}, {"美咲", "ミサキ", era_young}, {"彩花", "アヤカ", era_young},
  {"凛", "リン", era_young}, {"芽衣", "メイ", era_young}, {"結菜", "ユイナ", era_young},
  {"莉子", "リコ", era_young}, {"美月", "ミヅキ", era_young}, {"紬", "ツムギ", era_young},
  {"ひまり", "ヒマリ", era_young}, {"杏", "アン", era_young}, {"瞳", "ヒトミ", era_mid},
  {"綾", "アヤ", era_mid | era_young}, {"千里", "チサト", era_mid},
}};

/// Town names of 吹田市 and how many 丁目 each has (0: none).
struct town {
  std::string_view name;
  uint8_t chome;
};

constexpr std::array<town, 72> towns = {{
  {"泉町", 5}, {"出口町", 0}, {"片山町", 4}, {"岸部中", 5}, {"岸部北", 5}, {"岸部南", 3},
  {"岸部新町", 0}, {"吹東町", 0}, {"寿町", 2}, {"幸町", 0}, {"佐井寺", 4}, {"佐井寺南が丘", 0},
  {"佐竹台", 6}, {"山手町", 4}, {"春日", 4}, {"昭和町", 0}, {"新芦屋上", 0}, {"新芦屋下", 0},
  {"清和園町", 0}, {"千里山西", 6}, {"千里山東", 4}, {"千里山松が丘", 0}, {"千里山竹園", 2},
  {"千里山月が丘", 0}, {"千里山高塚", 0}, {"千里丘上", 0}, {"千里丘中", 0}, {"千里丘下", 0},
  {"千里丘北", 0}, {"高城町", 0}, {"高野台", 5}, {"竹谷町", 0}, {"竹見台", 4}, {"垂水町", 3},
  {"津雲台", 7}, {"天道町", 0}, {"豊津町", 0}, {"内本町", 3}, {"長野東", 0}, {"長野西", 0},
  {"西御旅町", 0}, {"西の庄町", 0}, {"原町", 4}, {"東御旅町", 0}, {"日の出町", 0},
  {"広芝町", 0}, {"藤が丘町", 0}, {"藤白台", 5}, {"古江台", 6}, {"穂波町", 0}, {"南金田", 2},
  {"南正雀", 5}, {"南清和園町", 0}, {"南高浜町", 0}, {"南吹田", 5}, {"桃山台", 5}, {"元町", 0},
  {"山田東", 4}, {"山田西", 4}, {"山田南", 0}, {"山田北", 0}, {"山田市場", 0}, {"芳野町", 0},
  {"江坂町", 5}, {"江の木町", 0}, {"円山町", 0}, {"青山台", 4}, {"青葉丘南", 0}, {"青葉丘北", 0},
  {"朝日町", 0}, {"五月が丘北", 0}, {"五月が丘南", 0},
}};

constexpr std::array<std::string_view, 9> kanji_digits = {"一", "二", "三", "四", "五",
                                                          "六", "七", "八", "九"};

constexpr std::array<std::string_view, 16> buildings = {
  "サンハイツ",       "グランドメゾン", "パークハウス", "ロイヤルハイツ", "コーポ緑地",
  "シャトー千里",     "レジデンス江坂", "メゾン桃山台", "ハイツ春日",     "プラウド吹田",
  "ライオンズマンション千里丘", "エスリード江坂", "ヴィラ山田", "コーポラス南吹田",
  "ファミール千里",   "グリーンハイツ",
};

/// The building of showcase person 9: a name that needs CSV quoting (a comma and quotes).
constexpr std::string_view quoted_building = "メゾン\"さくら\",東館";

// -- helpers --------------------------------------------------------------------------------------

void append_number(std::string& out, int64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  assert(ec == std::errc{});
  out.append(buf, end);
}

civil_date date_between(rng& r, civil_date lo, civil_date hi) {
  int64_t from = days_from_civil(lo);
  int64_t to = days_from_civil(hi);
  return civil_from_days(from + static_cast<int64_t>(r.below(static_cast<uint64_t>(to - from + 1))));
}

/// Age in whole years on `day`.
int32_t age_on(civil_date birth, civil_date day) {
  int32_t age = day.year - birth.year;
  if (day.month < birth.month || (day.month == birth.month && day.day < birth.day))
    --age;
  return age;
}

/// An address in the city: town, 丁目, 番, 号 and in a third of the cases a building and room.
void make_address(rng& r, const population_options& options, std::string_view building,
                  std::string& out) {
  const auto& t = towns[r.below(towns.size())];
  out.assign(options.address_prefix);
  out.append(t.name);
  if (t.chome > 0) {
    out.append(kanji_digits[r.below(t.chome)]);
    out.append("丁目");
  }
  append_number(out, r.between(1, 40));
  out.append("番");
  append_number(out, r.between(1, 30));
  out.append("号");
  if (building.empty() && r.chance(0.35))
    building = buildings[r.below(buildings.size())];
  if (!building.empty()) {
    out.append("　");
    out.append(building);
    append_number(out, r.between(1, 12) * 100 + r.between(1, 15));
    out.append("号室");
  }
}

// -- tax ------------------------------------------------------------------------------------------

/// What a tax record is computed from: the declared revenues and incomes, the raw deductions and
/// the family. Everything else (incomes of salary and pension, the personal deductions, totals,
/// taxes) follows from it in compute_tax.
struct tax_inputs {
  declaration_kind declaration = declaration_kind::filed;
  int64_t salary_revenue = 0;
  int64_t pension_revenue = 0;
  int64_t business = 0, agriculture = 0, real_estate = 0, interest = 0, dividend = 0, misc = 0,
          occasional = 0, separate = 0;
  int64_t social_insurance = 0, small_enterprise = 0, life_insurance = 0, earthquake_insurance = 0,
          casualty = 0, medical = 0, spouse_special = 0;
  bool spouse = false;         // 控除対象配偶者
  bool spouse_elderly = false; // 老人控除対象配偶者 (70 or older)
  bool widow = false, single_parent = false, working_student = false;
  bool disabled_self = false, minor = false;
  bool pension_age = false;    // 65 or older at the end of the income year
  uint8_t dep_general = 0, dep_specific = 0, dep_elderly = 0, dep_under16 = 0, disabled_count = 0;
};

/// 給与所得: revenue minus 給与所得控除 (所得税法第28条 and 別表第五 from 2020; from the income of
/// 2025 the minimum deduction is 650,000 yen).
int64_t salary_income(int64_t revenue, int32_t income_year) {
  if (income_year >= 2025 && revenue <= 1'900'000)
    return std::max<int64_t>(0, revenue - 650'000);
  if (revenue <= 1'625'000)
    return std::max<int64_t>(0, revenue - 550'000);
  if (revenue < 6'600'000) {
    int64_t a = revenue / 4'000 * 4'000; // 別表第五 works in steps of 4,000 yen
    if (revenue <= 1'800'000)
      return a * 60 / 100 + 100'000;
    if (revenue <= 3'600'000)
      return a * 70 / 100 - 80'000;
    return a * 80 / 100 - 440'000;
  }
  if (revenue <= 8'500'000)
    return revenue * 90 / 100 - 1'100'000;
  return revenue - 1'950'000;
}

/// 公的年金等に係る雑所得: revenue minus 公的年金等控除 (other income up to 10 million yen).
int64_t pension_income(int64_t revenue, bool pension_age) {
  int64_t deduction;
  if (revenue <= (pension_age ? 3'300'000 : 1'300'000))
    deduction = pension_age ? 1'100'000 : 600'000;
  else if (revenue <= 4'100'000)
    deduction = revenue * 25 / 100 + 275'000;
  else if (revenue <= 7'700'000)
    deduction = revenue * 15 / 100 + 685'000;
  else if (revenue <= 10'000'000)
    deduction = revenue * 5 / 100 + 1'455'000;
  else
    deduction = 1'955'000;
  return std::max<int64_t>(0, revenue - deduction);
}

void compute_tax(const population_options& options, const tax_inputs& in, tax_record& out) {
  out.amounts_yen.fill(0);
  out.counts.fill(0);
  out.spouse_flag = false;
  out.declaration = in.declaration;
  if (in.declaration != declaration_kind::filed)
    return; // feeds.md: not_filed and dependent records carry zero everywhere
  auto set = [&](tax_amount a, int64_t v) { out.amount(a) = v; };
  int32_t income_year = options.fiscal_year - 1;
  set(tax_amount::salary_revenue, in.salary_revenue);
  set(tax_amount::salary_income, salary_income(in.salary_revenue, income_year));
  set(tax_amount::pension_revenue, in.pension_revenue);
  set(tax_amount::pension_income, pension_income(in.pension_revenue, in.pension_age));
  set(tax_amount::business_income, in.business);
  set(tax_amount::agriculture_income, in.agriculture);
  set(tax_amount::real_estate_income, in.real_estate);
  set(tax_amount::interest_income, in.interest);
  set(tax_amount::dividend_income, in.dividend);
  set(tax_amount::misc_income, in.misc);
  set(tax_amount::occasional_income, in.occasional);
  set(tax_amount::separate_income, in.separate);
  int64_t total_income = 0;
  for (auto a : {tax_amount::salary_income, tax_amount::pension_income, tax_amount::business_income,
                 tax_amount::agriculture_income, tax_amount::real_estate_income,
                 tax_amount::interest_income, tax_amount::dividend_income, tax_amount::misc_income,
                 tax_amount::occasional_income, tax_amount::separate_income})
    total_income += out.amount(a);
  set(tax_amount::total_income, total_income);

  // 所得控除 of the inhabitant tax (住民税), which are smaller than those of the income tax.
  set(tax_amount::social_insurance, in.social_insurance);
  set(tax_amount::small_enterprise, in.small_enterprise);
  set(tax_amount::life_insurance, in.life_insurance);
  set(tax_amount::earthquake_insurance, in.earthquake_insurance);
  set(tax_amount::disability, int64_t{260'000} * in.disabled_count);
  set(tax_amount::widow_single_parent, in.single_parent ? 300'000 : in.widow ? 260'000 : 0);
  set(tax_amount::working_student, in.working_student ? 260'000 : 0);
  int64_t spouse = 0;
  if (in.spouse) {
    if (total_income <= 9'000'000)
      spouse = in.spouse_elderly ? 380'000 : 330'000;
    else if (total_income <= 9'500'000)
      spouse = in.spouse_elderly ? 260'000 : 220'000;
    else if (total_income <= 10'000'000)
      spouse = in.spouse_elderly ? 130'000 : 110'000;
  }
  set(tax_amount::spouse, spouse);
  set(tax_amount::spouse_special, spouse == 0 && total_income <= 10'000'000 ? in.spouse_special : 0);
  set(tax_amount::dependents_deduction,
      int64_t{330'000} * in.dep_general + int64_t{450'000} * in.dep_specific
        + int64_t{380'000} * in.dep_elderly);
  int64_t basic = total_income <= 24'000'000   ? 430'000
                  : total_income <= 24'500'000 ? 290'000
                  : total_income <= 25'000'000 ? 150'000
                                               : 0;
  set(tax_amount::basic, basic);
  set(tax_amount::casualty, in.casualty);
  set(tax_amount::medical, in.medical);
  int64_t total_deductions = 0;
  for (auto a : deduction_amounts)
    total_deductions += out.amount(a);
  set(tax_amount::total_deductions, total_deductions);

  out.spouse_flag = spouse > 0;
  out.count(tax_count::dep_general) = in.dep_general;
  out.count(tax_count::dep_specific) = in.dep_specific;
  out.count(tax_count::dep_elderly) = in.dep_elderly;
  out.count(tax_count::dep_under16) = in.dep_under16;
  out.count(tax_count::disabled_count) = in.disabled_count;

  // 課税標準額: rounded down to 1,000 yen.
  int64_t taxable = std::max<int64_t>(0, total_income - total_deductions) / 1'000 * 1'000;
  set(tax_amount::taxable_income, taxable);

  // 非課税: the limits of a 1級地 city (吹田市), and the 135万円 rule for minors, the disabled,
  // widows and single parents.
  int64_t family = (in.spouse ? 1 : 0) + in.dep_general + in.dep_specific + in.dep_elderly
                   + in.dep_under16;
  int64_t per_capita_limit = family == 0 ? 450'000 : 350'000 * (1 + family) + 100'000 + 210'000;
  int64_t income_levy_limit = family == 0 ? 450'000 : 350'000 * (1 + family) + 100'000 + 320'000;
  bool exempt = (in.minor || in.disabled_self || in.widow || in.single_parent)
                && total_income <= 1'350'000;
  bool per_capita = !exempt && total_income > per_capita_limit;
  bool income_levy = !exempt && total_income > income_levy_limit;
  // 所得割: rate times the taxable income, rounded down to 100 yen (no 調整控除 or 税額控除).
  set(tax_amount::city_income_levy,
      income_levy ? taxable * options.city_income_levy_percent / 100 / 100 * 100 : 0);
  set(tax_amount::pref_income_levy,
      income_levy ? taxable * options.pref_income_levy_percent / 100 / 100 * 100 : 0);
  set(tax_amount::city_per_capita, per_capita ? options.city_per_capita_yen : 0);
  set(tax_amount::pref_per_capita, per_capita ? options.pref_per_capita_yen : 0);
  set(tax_amount::forest_env_tax, per_capita ? options.forest_env_tax_yen : 0);
  int64_t total_tax = 0;
  for (auto a : tax_amounts)
    total_tax += out.amount(a);
  set(tax_amount::total_tax, total_tax);
}

/// Draws the declared income and deductions of a person of `age` (at the end of the income year).
void draw_tax_inputs(rng& r, int32_t age, tax_inputs& in) {
  in = tax_inputs{};
  in.pension_age = age >= 65;
  double dependent_rate = age < 23 ? 0.70 : 0.04;
  double u = r.uniform();
  if (u < dependent_rate) {
    in.declaration = declaration_kind::dependent;
    return;
  }
  if (u < dependent_rate + 0.05) {
    in.declaration = declaration_kind::not_filed;
    return;
  }
  in.declaration = declaration_kind::filed;

  // Work and pensions.
  if (age < 23) {
    in.salary_revenue = r.between(300'000, 1'500'000);
    in.working_student = age < 25 && in.salary_revenue <= 1'300'000 && r.chance(0.5);
  } else if (age < 65) {
    double w = r.uniform();
    if (w < 0.68)
      in.salary_revenue = r.log_normal(4'300'000, 0.55, 1'000'000, 30'000'000);
    else if (w < 0.83)
      in.salary_revenue = r.between(500'000, 1'600'000); // part-time
    else if (w < 0.95)
      in.business = r.log_normal(2'800'000, 0.7, 200'000, 40'000'000);
    else
      in.salary_revenue = r.between(0, 1) * r.between(100'000, 900'000);
    if (age >= 60 && r.chance(0.2))
      in.pension_revenue = r.log_normal(1'200'000, 0.4, 300'000, 3'000'000);
  } else {
    in.pension_revenue = r.log_normal(2'000'000, 0.45, 400'000, 8'000'000);
    if (age < 75 && r.chance(0.25))
      in.salary_revenue = r.between(300'000, 2'500'000);
    if (r.chance(0.06))
      in.business = r.log_normal(1'200'000, 0.8, 100'000, 10'000'000);
    if (r.chance(0.03))
      in.agriculture = r.between(50'000, 1'500'000);
  }
  if (age >= 40 && r.chance(age >= 60 ? 0.08 : 0.03))
    in.real_estate = r.log_normal(1'500'000, 0.8, 100'000, 20'000'000);
  if (r.chance(0.02))
    in.interest = r.between(1'000, 50'000);
  if (r.chance(0.06))
    in.dividend = r.between(10'000, 600'000);
  if (r.chance(0.08))
    in.misc = r.between(10'000, 900'000);
  if (r.chance(0.015))
    in.occasional = r.between(50'000, 2'000'000);
  if (r.chance(0.01))
    in.separate = r.log_normal(1'500'000, 1.0, 100'000, 50'000'000);

  // Deductions that come from payments.
  in.social_insurance = in.salary_revenue * 145 / 1000 + in.pension_revenue * 6 / 100
                        + (in.business > 0 ? std::min<int64_t>(in.business / 10 + 150'000, 900'000) : 0);
  if (in.business + in.salary_revenue > 0 && r.chance(0.04))
    in.small_enterprise = 12 * (r.chance(0.5) ? 23'000 : r.between(1, 68) * 1'000);
  if (r.chance(0.6))
    in.life_insurance = r.between(5, 70) * 1'000; // 住民税: at most 70,000
  if (r.chance(0.3))
    in.earthquake_insurance = r.between(1, 25) * 1'000; // at most 25,000
  if (r.chance(0.09))
    in.medical = r.between(5'000, 400'000);
  if (r.chance(0.002))
    in.casualty = r.between(50'000, 1'500'000);

  // Family.
  if (age >= 28 && age < 80 && r.chance(0.45)) {
    if (r.chance(0.7)) {
      in.spouse = true;
      in.spouse_elderly = age >= 70;
    } else {
      in.spouse_special = r.between(1, 33) * 10'000;
    }
  }
  if (age >= 28 && age < 60) {
    in.dep_under16 = static_cast<uint8_t>(r.chance(0.45) ? r.between(1, 3) : 0);
    in.dep_specific = static_cast<uint8_t>(age >= 42 && r.chance(0.2) ? 1 : 0);
    in.dep_general = static_cast<uint8_t>(age >= 38 && r.chance(0.12) ? 1 : 0);
  }
  if (age >= 40 && age < 70 && r.chance(0.04))
    in.dep_elderly = 1;
  if (r.chance(0.03)) {
    in.disabled_self = true;
    in.disabled_count = 1;
  }
  if (r.chance(0.01))
    ++in.disabled_count; // a disabled dependent
  if (!in.spouse && in.spouse_special == 0) {
    if (in.dep_under16 + in.dep_specific > 0 && r.chance(0.08))
      in.single_parent = true;
    else if (age >= 50 && r.chance(0.04))
      in.widow = true;
  }
}

// -- showcase -------------------------------------------------------------------------------------

/// Overrides of the first showcase_count persons, so that every case a test needs is in the first
/// records of every feed: rare names, every status, hold and declaration, a non-zero value in every
/// amount and count column, a non-taxed record and a field that needs CSV quoting.
struct showcase {
  int rare_surname = -1; // index into rare_surnames
  int birth_year = 0;    // 0: keep the drawn birth date
  resident_status status = resident_status::active;
  issuance_hold hold = issuance_hold::none;
  bool quoted_address = false;
  void (*tax)(tax_inputs&) = nullptr;
};

void sink_tax(tax_inputs& in) {
  // Every income kind and every deduction that can stand together; total income below 9 million
  // yen so that the spouse deduction is the full one.
  in = tax_inputs{};
  in.salary_revenue = 6'843'210;
  in.business = 820'000;
  in.real_estate = 640'000;
  in.interest = 12'345;
  in.dividend = 150'000;
  in.misc = 320'000;
  in.occasional = 480'000;
  in.separate = 800'000;
  in.social_insurance = 992'265;
  in.small_enterprise = 276'000;
  in.life_insurance = 70'000;
  in.earthquake_insurance = 25'000;
  in.casualty = 180'000;
  in.medical = 143'200;
  in.spouse = true;
  in.dep_general = 1;
  in.dep_specific = 1;
  in.dep_elderly = 1;
  in.dep_under16 = 2;
  in.disabled_count = 1;
}

void pensioner_widow_tax(tax_inputs& in) {
  in = tax_inputs{};
  in.pension_age = true;
  in.pension_revenue = 3'120'000;
  in.agriculture = 640'000;
  in.social_insurance = 187'200;
  in.life_insurance = 35'000;
  in.widow = true;
}

void dependent_tax(tax_inputs& in) {
  in = tax_inputs{};
  in.declaration = declaration_kind::dependent;
}

void not_filed_tax(tax_inputs& in) {
  in = tax_inputs{};
  in.declaration = declaration_kind::not_filed;
}

void spouse_special_tax(tax_inputs& in) {
  in = tax_inputs{};
  in.salary_revenue = 5'210'000;
  in.social_insurance = 755'450;
  in.life_insurance = 56'000;
  in.spouse_special = 260'000;
}

void pensioner_tax(tax_inputs& in) {
  in = tax_inputs{};
  in.pension_age = true;
  in.pension_revenue = 2'450'000;
  in.social_insurance = 147'000;
}

void salary_tax(tax_inputs& in) {
  in = tax_inputs{};
  in.salary_revenue = 4'380'000;
  in.social_insurance = 635'100;
  in.life_insurance = 42'000;
  in.earthquake_insurance = 15'000;
}

void part_time_tax(tax_inputs& in) {
  // 非課税: salary revenue below the limit.
  in = tax_inputs{};
  in.salary_revenue = 930'000;
  in.social_insurance = 0;
}

void student_tax(tax_inputs& in) {
  in = tax_inputs{};
  in.salary_revenue = 1'200'000;
  in.working_student = true;
}

void single_parent_tax(tax_inputs& in) {
  in = tax_inputs{};
  in.salary_revenue = 3'650'000;
  in.social_insurance = 529'250;
  in.single_parent = true;
  in.dep_under16 = 1;
  in.dep_specific = 1;
}

constexpr std::array<showcase, showcase_count> showcases = {{
  {0, 1978, resident_status::active, issuance_hold::none, false, sink_tax},
  {1, 1948, resident_status::active, issuance_hold::none, false, pensioner_widow_tax},
  {2, 2004, resident_status::active, issuance_hold::none, false, dependent_tax},
  {3, 1969, resident_status::active, issuance_hold::none, false, not_filed_tax},
  {4, 1983, resident_status::moved_out, issuance_hold::none, false, spouse_special_tax},
  {-1, 1941, resident_status::deceased, issuance_hold::none, false, pensioner_tax},
  {-1, 1986, resident_status::active, issuance_hold::support_measure, false, salary_tax},
  {-1, 1975, resident_status::active, issuance_hold::other, false, salary_tax},
  {-1, 1990, resident_status::active, issuance_hold::none, false, part_time_tax},
  {-1, 2003, resident_status::active, issuance_hold::none, true, student_tax},
  {5, 1962, resident_status::active, issuance_hold::none, false, nullptr},
  {7, 1980, resident_status::active, issuance_hold::none, false, single_parent_tax},
}};

} // namespace

std::string resident_code(uint64_t seed, uint64_t index) {
  assert(index < population_max);
  uint64_t body = permute_code(seed, index);
  char digits[resident_code_length];
  for (size_t i = 10; i-- > 0;) {
    digits[i] = static_cast<char>('0' + body % 10);
    body /= 10;
  }
  // Modulus 11 with weights 2..7 from the rightmost digit.
  uint64_t sum = 0;
  for (size_t i = 0; i < 10; ++i)
    sum += static_cast<uint64_t>(digits[9 - i] - '0') * (2 + i % 6);
  uint64_t rest = sum % 11;
  digits[10] = static_cast<char>('0' + (rest <= 1 ? 0 : 11 - rest));
  return std::string(digits, resident_code_length);
}

void make_person(const population_options& options, uint64_t index, uint32_t revision,
                 person& out) {
  const showcase* sc = index < showcase_count ? &showcases[index] : nullptr;
  rng stable(options.seed, index, stable_stream);
  rng changing(options.seed, index, revision_stream + (uint64_t{revision} << 8));
  auto& res = out.resident;
  auto& tax = out.tax;
  res.resident_code = resident_code(options.seed, index);

  // Birth date: between 1930 and 2008, fewer of the oldest.
  int32_t income_year = options.fiscal_year - 1;
  if (stable.chance(0.85))
    res.birth_date = date_between(stable, {1945, 1, 1}, {2008, 12, 31});
  else
    res.birth_date = date_between(stable, {1930, 1, 1}, {1944, 12, 31});
  if (sc != nullptr && sc->birth_year != 0)
    res.birth_date.year = sc->birth_year;
  if (res.birth_date.month == 2 && res.birth_date.day == 29)
    res.birth_date.day = 28; // a showcase year may not be a leap year

  // Name: surname + U+3000 + given name, and the reading likewise.
  int rare = sc != nullptr ? sc->rare_surname : -1;
  if (sc == nullptr && stable.chance(0.005))
    rare = static_cast<int>(stable.below(rare_surnames.size()));
  if (rare >= 0) {
    const auto& s = rare_surnames[static_cast<size_t>(rare)];
    res.name.assign(options.cp932_safe ? s.cp932 : s.kanji);
    res.name_kana.assign(s.kana);
  } else {
    const auto& s = surnames[stable.below(surnames.size())];
    res.name.assign(s.kanji);
    res.name_kana.assign(s.kana);
  }
  uint8_t era = res.birth_date.year <= 1955 ? era_old : res.birth_date.year <= 1985 ? era_mid : era_young;
  const given_name* g = &given_names[stable.below(given_names.size())];
  // Mostly a name of the person's generation: redraw a few times otherwise.
  for (int tries = 0; tries < 6 && (g->eras & era) == 0; ++tries)
    g = &given_names[stable.below(given_names.size())];
  res.name.append("　");
  res.name.append(g->kanji);
  res.name_kana.append("　");
  res.name_kana.append(g->kana);

  // Address on 1 January, and now: 3% moved within the city since (more in later revisions).
  std::string_view building = sc != nullptr && sc->quoted_address ? quoted_building : std::string_view{};
  make_address(stable, options, building, tax.address_jan1);
  if (changing.chance(revision == 0 ? 0.03 : 0.3))
    make_address(changing, options, building, res.address);
  else
    res.address.assign(tax.address_jan1);

  // Status and hold.
  res.status = resident_status::active;
  res.status_date.reset();
  res.hold = issuance_hold::none;
  double u = changing.uniform();
  if (u < 0.006)
    res.status = resident_status::moved_out;
  else if (u < 0.010)
    res.status = resident_status::deceased;
  double h = changing.uniform();
  if (h < 0.003)
    res.hold = issuance_hold::support_measure;
  else if (h < 0.005)
    res.hold = issuance_hold::other;
  if (sc != nullptr) {
    res.status = sc->status;
    res.hold = sc->hold;
  }
  if (res.status != resident_status::active)
    res.status_date = date_between(changing, {income_year + 1, 1, 2}, {income_year + 1, 5, 31});

  // Tax record of the fiscal year.
  tax.resident_code = res.resident_code;
  tax.fiscal_year = options.fiscal_year;
  tax_inputs in;
  draw_tax_inputs(changing, age_on(res.birth_date, {income_year, 12, 31}), in);
  if (sc != nullptr && sc->tax != nullptr)
    sc->tax(in);
  in.pension_age = age_on(res.birth_date, {income_year, 12, 31}) >= 65;
  in.minor = age_on(res.birth_date, {options.fiscal_year, 1, 1}) < 18;
  compute_tax(options, in, tax);
  assert(check_tax_record(tax).empty());
}

delta_line delta_line_at(uint64_t seed, uint64_t population, [[maybe_unused]] uint64_t lines,
                         uint32_t revision, uint64_t j) {
  assert(lines <= population && j < lines);
  rng r(seed, j, 3 + (uint64_t{revision} << 8));
  delta_line result;
  result.revision = revision;
  double u = r.uniform();
  if (u < 0.03) {
    result.index = population + j; // a newcomer: beyond every existing person, distinct per line
    return result;
  }
  // Spread the changed persons over the population: j -> j * step mod population is a
  // permutation when step and population are coprime; the showcase persons keep their place.
  uint64_t step = population <= 1 ? 1 : 1 + mix64(seed ^ revision) % (population - 1);
  while (std::gcd(step, population) != 1)
    ++step;
  result.index = static_cast<uint64_t>((static_cast<unsigned __int128>(j) * step) % population);
  result.remove = u < 0.05 && result.index >= showcase_count;
  return result;
}

std::string check_tax_record(const tax_record& record) {
  for (size_t i = 0; i < tax_amount_count; ++i)
    if (record.amounts_yen[i] < 0 || record.amounts_yen[i] > tax_amount_max_yen)
      return std::string(column_name(static_cast<tax_amount>(i))) + " out of range";
  for (size_t i = 0; i < tax_count_count; ++i)
    if (record.counts[i] > 99)
      return std::string(column_name(static_cast<tax_count>(i))) + " out of range";
  int64_t deductions = 0;
  for (auto a : deduction_amounts)
    deductions += record.amount(a);
  if (deductions != record.amount(tax_amount::total_deductions))
    return "total_deductions is not the sum of the 13 deductions";
  int64_t taxes = 0;
  for (auto a : tax_amounts)
    taxes += record.amount(a);
  if (taxes != record.amount(tax_amount::total_tax))
    return "total_tax is not the sum of the five taxes";
  if (record.declaration != declaration_kind::filed) {
    for (auto v : record.amounts_yen)
      if (v != 0)
        return "a not_filed or dependent record with a non-zero amount";
    for (auto c : record.counts)
      if (c != 0)
        return "a not_filed or dependent record with a non-zero count";
    if (record.spouse_flag)
      return "a not_filed or dependent record with spouse_flag 1";
  }
  return {};
}

} // namespace kofu::feedgen
