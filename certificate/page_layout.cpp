#include "certificate/page_layout.hpp"

#include <array>
#include <stdexcept>

#include "certificate/formatting.hpp"

namespace kofu::certificate {

namespace {

constexpr double left_pt = 50;
constexpr double right_pt = page_width_pt - 50;
constexpr double middle_pt = page_width_pt / 2;
constexpr double cell_pad_pt = 4;

constexpr double label_size_pt = 9;
constexpr double value_size_pt = 9.5;

// The person table: 住所, フリガナ, 氏名, 生年月日.
constexpr double person_top_pt = 730;
constexpr double person_row_pt = 24;
constexpr double person_label_right_pt = 130;

// Income and deductions side by side.
constexpr double money_top_pt = 625;
constexpr double money_header_pt = 18;
constexpr double money_row_pt = 16;
constexpr size_t money_rows = 14;
constexpr double money_label_w_pt = 140;

// 控除対象配偶者, 障害者, 扶養親族, 課税標準額.
constexpr double family_top_pt = 375;
constexpr double family_row_pt = 18;

// The taxes.
constexpr double tax_top_pt = 313;
constexpr double tax_row_pt = 18;
constexpr std::array<double, 5> tax_columns_pt = {left_pt, 130, 200, 330, 400};

// Remarks.
constexpr double remarks_top_pt = 233;
constexpr double remarks_h_pt = 40;

constexpr double mayor_right_pt = 470;
constexpr double mayor_baseline_pt = 110;
constexpr double mayor_size_pt = 14;
constexpr double seal_size_pt = 46;

struct money_row {
  std::string_view label;
  tax_amount amount;
};

constexpr std::array<money_row, 13> income_rows = {{
  {"給与収入", tax_amount::salary_revenue},
  {"給与所得", tax_amount::salary_income},
  {"公的年金等収入", tax_amount::pension_revenue},
  {"公的年金等に係る雑所得", tax_amount::pension_income},
  {"営業等所得", tax_amount::business_income},
  {"農業所得", tax_amount::agriculture_income},
  {"不動産所得", tax_amount::real_estate_income},
  {"利子所得", tax_amount::interest_income},
  {"配当所得", tax_amount::dividend_income},
  {"その他の雑所得", tax_amount::misc_income},
  {"総合譲渡・一時所得", tax_amount::occasional_income},
  {"分離課税等所得", tax_amount::separate_income},
  {"総所得金額等", tax_amount::total_income},
}};

constexpr std::array<money_row, 14> deduction_rows = {{
  {"社会保険料控除", tax_amount::social_insurance},
  {"小規模企業共済等掛金控除", tax_amount::small_enterprise},
  {"生命保険料控除", tax_amount::life_insurance},
  {"地震保険料控除", tax_amount::earthquake_insurance},
  {"障害者控除", tax_amount::disability},
  {"寡婦・ひとり親控除", tax_amount::widow_single_parent},
  {"勤労学生控除", tax_amount::working_student},
  {"配偶者控除", tax_amount::spouse},
  {"配偶者特別控除", tax_amount::spouse_special},
  {"扶養控除", tax_amount::dependents_deduction},
  {"基礎控除", tax_amount::basic},
  {"雑損控除", tax_amount::casualty},
  {"医療費控除", tax_amount::medical},
  {"所得控除合計", tax_amount::total_deductions},
}};

struct count_cell {
  std::string_view label;
  tax_count count;
};

constexpr std::array<count_cell, 4> dependent_cells = {{
  {"一般", tax_count::dep_general},
  {"特定", tax_count::dep_specific},
  {"老人", tax_count::dep_elderly},
  {"16歳未満", tax_count::dep_under16},
}};

constexpr double dependent_cell_w_pt = (right_pt - 190) / dependent_cells.size();

constexpr std::string_view remarks_dependent = "被扶養者として申告されており、所得はありません。";

text_item label(std::string text, double x, double y, double size = label_size_pt) {
  text_item t;
  t.text = std::move(text);
  t.field = "label";
  t.x_pt = x;
  t.y_pt = y;
  t.size_pt = size;
  return t;
}

text_item value(std::string text, std::string_view field, double x, double y, text_align align,
                double size = value_size_pt) {
  text_item t;
  t.text = std::move(text);
  t.field = field;
  t.x_pt = x;
  t.y_pt = y;
  t.size_pt = size;
  t.align = align;
  return t;
}

text_item fitted(std::string text, std::string_view field, rect_pt box, double size) {
  text_item t;
  t.text = std::move(text);
  t.field = field;
  t.x_pt = box.x;
  t.y_pt = box.y;
  t.size_pt = size;
  t.box_width_pt = box.w;
  t.box_height_pt = box.h;
  return t;
}

/// The baseline of a single line of `size` centred in a row from `top` of height `h`.
double baseline(double top, double h, double size) {
  return top - h / 2 - size * 0.35;
}

double money_row_top(size_t i) {
  return money_top_pt - money_header_pt - money_row_pt * static_cast<double>(i);
}

constexpr std::array<std::string_view, 4> person_labels = {"住所", "フリガナ", "氏名", "生年月日"};

void add_person_frame(static_page& page) {
  for (size_t i = 0; i < person_labels.size(); ++i) {
    double top = person_top_pt - person_row_pt * static_cast<double>(i);
    page.frames.push_back({left_pt, top - person_row_pt, person_label_right_pt - left_pt,
                           person_row_pt});
    page.frames.push_back({person_label_right_pt, top - person_row_pt,
                           right_pt - person_label_right_pt, person_row_pt});
    page.texts.push_back(label(std::string{person_labels[i]}, left_pt + cell_pad_pt + 2,
                               baseline(top, person_row_pt, 10), 10));
  }
}

void add_money_frame(static_page& page) {
  const double half_w = middle_pt - left_pt;
  page.frames.push_back({left_pt, money_top_pt - money_header_pt, half_w, money_header_pt});
  page.frames.push_back({middle_pt, money_top_pt - money_header_pt, half_w, money_header_pt});
  double header_y = baseline(money_top_pt, money_header_pt, 10);
  page.texts.push_back(label("所得の内訳", left_pt + cell_pad_pt, header_y, 10));
  page.texts.push_back(label("所得控除の内訳", middle_pt + cell_pad_pt, header_y, 10));
  for (size_t i = 0; i < money_rows; ++i) {
    double top = money_row_top(i);
    for (double x : {left_pt, middle_pt}) {
      page.frames.push_back({x, top - money_row_pt, money_label_w_pt, money_row_pt});
      page.frames.push_back({x + money_label_w_pt, top - money_row_pt, half_w - money_label_w_pt,
                             money_row_pt});
    }
    double y = baseline(top, money_row_pt, label_size_pt);
    if (i < income_rows.size())
      page.texts.push_back(label(std::string{income_rows[i].label}, left_pt + cell_pad_pt, y));
    page.texts.push_back(label(std::string{deduction_rows[i].label}, middle_pt + cell_pad_pt, y));
  }
}

void add_family_frame(static_page& page) {
  const double value_x = left_pt + money_label_w_pt;
  double top = family_top_pt;
  // Row 1: 控除対象配偶者 | 有/無 | 障害者の数 | n人
  page.frames.push_back({left_pt, top - family_row_pt, money_label_w_pt, family_row_pt});
  page.frames.push_back({value_x, top - family_row_pt, middle_pt - value_x, family_row_pt});
  page.frames.push_back({middle_pt, top - family_row_pt, money_label_w_pt, family_row_pt});
  page.frames.push_back({middle_pt + money_label_w_pt, top - family_row_pt,
                         right_pt - middle_pt - money_label_w_pt, family_row_pt});
  double y = baseline(top, family_row_pt, label_size_pt);
  page.texts.push_back(label("控除対象配偶者", left_pt + cell_pad_pt, y));
  page.texts.push_back(label("障害者の数", middle_pt + cell_pad_pt, y));
  // Row 2: 扶養親族の数 | 一般 n人 | 特定 n人 | 老人 n人 | 16歳未満 n人
  top -= family_row_pt;
  y = baseline(top, family_row_pt, label_size_pt);
  page.frames.push_back({left_pt, top - family_row_pt, money_label_w_pt, family_row_pt});
  page.texts.push_back(label("扶養親族の数", left_pt + cell_pad_pt, y));
  for (size_t i = 0; i < dependent_cells.size(); ++i) {
    double x = value_x + dependent_cell_w_pt * static_cast<double>(i);
    page.frames.push_back({x, top - family_row_pt, dependent_cell_w_pt, family_row_pt});
    page.texts.push_back(label(std::string{dependent_cells[i].label}, x + cell_pad_pt, y));
  }
  // Row 3: 課税標準額 | amount
  top -= family_row_pt;
  y = baseline(top, family_row_pt, label_size_pt);
  page.frames.push_back({left_pt, top - family_row_pt, money_label_w_pt, family_row_pt});
  page.frames.push_back({value_x, top - family_row_pt, middle_pt - value_x, family_row_pt});
  page.texts.push_back(label("課税標準額", left_pt + cell_pad_pt, y));
}

void add_tax_frame(static_page& page, const layout_config& config) {
  double top = tax_top_pt;
  page.frames.push_back({left_pt, top - tax_row_pt, right_pt - left_pt, tax_row_pt});
  page.texts.push_back(label("税額", left_pt + cell_pad_pt, baseline(top, tax_row_pt, 10), 10));
  const std::array<std::string, 3> names = {"市民税", config.prefecture_tax_word, "森林環境税"};
  for (size_t row = 0; row < names.size(); ++row) {
    top -= tax_row_pt;
    double y = baseline(top, tax_row_pt, label_size_pt);
    bool last = row + 1 == names.size();
    for (size_t c = 0; c < tax_columns_pt.size(); ++c) {
      if (last && c == 2)
        continue; // 森林環境税 spans the label and amount columns
      double x = tax_columns_pt[c];
      double w = (c + 1 < tax_columns_pt.size() ? tax_columns_pt[c + 1] : right_pt) - x;
      if (last && c == 1)
        w = tax_columns_pt[3] - x;
      page.frames.push_back({x, top - tax_row_pt, w, tax_row_pt});
    }
    page.texts.push_back(label(names[row], left_pt + cell_pad_pt, y));
    if (!last) {
      page.texts.push_back(label("所得割額", tax_columns_pt[1] + cell_pad_pt, y));
      page.texts.push_back(label("均等割額", tax_columns_pt[3] + cell_pad_pt, y));
    } else {
      page.texts.push_back(label("年税額", tax_columns_pt[3] + cell_pad_pt, y));
    }
  }
}

void add_closing(static_page& page, const layout_config& config) {
  page.frames.push_back({left_pt, remarks_top_pt - remarks_h_pt, person_label_right_pt - left_pt,
                         remarks_h_pt});
  page.frames.push_back({person_label_right_pt, remarks_top_pt - remarks_h_pt,
                         right_pt - person_label_right_pt, remarks_h_pt});
  page.texts.push_back(label("備考", left_pt + cell_pad_pt + 2,
                             baseline(remarks_top_pt, remarks_h_pt, 10), 10));
  page.texts.push_back(label("上記のとおり証明します。", 70, 165, 11));
  page.texts.push_back(label("証明書番号", 372, 805));
  auto mayor = value(config.city_name + "長　" + config.mayor_name, "mayor_name", mayor_right_pt,
                     mayor_baseline_pt, text_align::right, mayor_size_pt);
  page.texts.push_back(std::move(mayor));
  page.texts.push_back(value("この証明書はコンビニエンスストア等で交付したものです。", "label",
                             middle_pt, 50, text_align::center, 9));
  // The seal is stamped over the last character of the mayor's name, as on paper.
  page.seal = {mayor_right_pt - mayor_size_pt / 2 - seal_size_pt / 2,
               mayor_baseline_pt + mayor_size_pt * 0.35 - seal_size_pt / 2, seal_size_pt,
               seal_size_pt};
}

/// Full-width digits (U+FF10..U+FF19, as tax systems often write addresses: １丁目) as ASCII:
/// certificate.md prints every digit half-width.
std::string ascii_digits(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (i + 2 < s.size() && static_cast<unsigned char>(s[i]) == 0xEF
        && static_cast<unsigned char>(s[i + 1]) == 0xBC
        && static_cast<unsigned char>(s[i + 2]) >= 0x90
        && static_cast<unsigned char>(s[i + 2]) <= 0x99) {
      out.push_back(static_cast<char>('0' + (static_cast<unsigned char>(s[i + 2]) - 0x90)));
      i += 2;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

text_item specimen_mark() {
  constexpr double size = 150;
  constexpr double angle = 30;
  constexpr double cos_a = 0.8660254037844386, sin_a = 0.5;
  // Anchor so that the two characters are centred on the page along the rotated baseline.
  constexpr double along = -size, across = -size * 0.35;
  text_item t = label("見本", middle_pt + cos_a * along - sin_a * across,
                      page_height_pt / 2 + sin_a * along + cos_a * across, size);
  t.field = "specimen";
  t.angle_deg = angle;
  t.gray = 0.82;
  t.extractable = false;
  return t;
}

std::string count_text(uint8_t n) {
  return std::to_string(n) + "人";
}

void add_money_values(const tax_record& tax, bool zero, std::vector<text_item>& out) {
  auto amount = [&](tax_amount a) { return format_yen(zero ? 0 : tax.amount(a)); };
  for (size_t i = 0; i < money_rows; ++i) {
    double y = baseline(money_row_top(i), money_row_pt, value_size_pt);
    if (i < income_rows.size())
      out.push_back(value(amount(income_rows[i].amount), "amount", middle_pt - cell_pad_pt, y,
                          text_align::right));
    out.push_back(value(amount(deduction_rows[i].amount), "amount", right_pt - cell_pad_pt, y,
                        text_align::right));
  }
}

void add_family_values(const tax_record& tax, bool zero, std::vector<text_item>& out) {
  const double value_right = middle_pt - cell_pad_pt;
  double y = baseline(family_top_pt, family_row_pt, value_size_pt);
  out.push_back(value(tax.spouse_flag && !zero ? "有" : "無", "spouse_flag", value_right, y,
                      text_align::right));
  out.push_back(value(count_text(zero ? 0 : tax.count(tax_count::disabled_count)), "count",
                      right_pt - cell_pad_pt, y, text_align::right));
  y = baseline(family_top_pt - family_row_pt, family_row_pt, value_size_pt);
  for (size_t i = 0; i < dependent_cells.size(); ++i) {
    double right = left_pt + money_label_w_pt + dependent_cell_w_pt * static_cast<double>(i + 1);
    out.push_back(value(count_text(zero ? 0 : tax.count(dependent_cells[i].count)), "count",
                        right - cell_pad_pt, y, text_align::right));
  }
  y = baseline(family_top_pt - 2 * family_row_pt, family_row_pt, value_size_pt);
  out.push_back(value(format_yen(zero ? 0 : tax.amount(tax_amount::taxable_income)), "amount",
                      value_right, y, text_align::right));
}

void add_tax_values(const tax_record& tax, bool zero, std::vector<text_item>& out) {
  constexpr std::array<std::array<tax_amount, 2>, 3> rows = {{
    {tax_amount::city_income_levy, tax_amount::city_per_capita},
    {tax_amount::pref_income_levy, tax_amount::pref_per_capita},
    {tax_amount::forest_env_tax, tax_amount::total_tax},
  }};
  for (size_t r = 0; r < rows.size(); ++r) {
    double top = tax_top_pt - tax_row_pt * static_cast<double>(r + 1);
    double y = baseline(top, tax_row_pt, value_size_pt);
    for (size_t c = 0; c < 2; ++c) {
      double right = (c == 0 ? tax_columns_pt[3] : right_pt) - cell_pad_pt;
      out.push_back(value(format_yen(zero ? 0 : tax.amount(rows[r][c])), "amount", right, y,
                          text_align::right));
    }
  }
}

} // namespace

static_page make_static_page(const layout_config& config) {
  static_page page;
  add_person_frame(page);
  add_money_frame(page);
  add_family_frame(page);
  add_tax_frame(page, config);
  add_closing(page, config);
  page.specimen = specimen_mark();
  return page;
}

std::string_view common_characters() {
  return "0123456789,-.() 　円年月日度人元有無"
         "明治大正昭和平成令和所得・課税（非課税）証明書中の"
         "都道府県市区町村郡丁目番地号一二三四五六七八九十百千";
}

bool is_certificate_number(std::string_view s) {
  constexpr size_t length = 15, dash_at = 8; // YYYYMMDD-NNNNNN
  if (s.size() != length || s[dash_at] != '-')
    return false;
  for (size_t i = 0; i < length; ++i)
    if (i != dash_at && (s[i] < '0' || s[i] > '9'))
      return false;
  return true;
}

void make_person_items(const certificate_input& in, std::vector<text_item>& out) {
  if (in.tax.declaration == declaration_kind::not_filed)
    throw std::invalid_argument("no certificate is issued from a not_filed tax record");
  if (!is_certificate_number(in.certificate_number))
    throw std::invalid_argument("certificate_number is not YYYYMMDD-NNNNNN");
  out.clear();
  const bool zero = in.tax.declaration == declaration_kind::dependent;
  out.push_back(value(in.certificate_number, "certificate_number", right_pt, 805,
                      text_align::right, 9));
  out.push_back(value(certificate_title(in.tax), "title", middle_pt, 768, text_align::center, 16));
  out.push_back(value(income_year_line(in.tax), "title", middle_pt, 746, text_align::center, 10.5));
  const double box_x = person_label_right_pt + cell_pad_pt + 2;
  const double box_w = right_pt - box_x - cell_pad_pt;
  auto row_box = [&](size_t i) {
    double bottom = person_top_pt - person_row_pt * static_cast<double>(i + 1);
    return rect_pt{box_x, bottom + 2, box_w, person_row_pt - 4};
  };
  out.push_back(fitted(ascii_digits(in.tax.address_jan1), "address", row_box(0), 10.5));
  out.push_back(fitted(in.resident.name_kana, "name_kana", row_box(1), 10));
  out.push_back(fitted(in.resident.name, "name", row_box(2), 13));
  out.push_back(value(era_date(in.resident.birth_date), "birth_date", box_x,
                      baseline(person_top_pt - 3 * person_row_pt, person_row_pt, 10.5),
                      text_align::left, 10.5));
  add_money_values(in.tax, zero, out);
  add_family_values(in.tax, zero, out);
  add_tax_values(in.tax, zero, out);
  if (zero)
    out.push_back(fitted(std::string{remarks_dependent}, "remarks",
                         {box_x, remarks_top_pt - remarks_h_pt + 2, box_w, remarks_h_pt - 4},
                         10));
  out.push_back(value(era_date(in.issue_date), "issue_date", 70, 143, text_align::left, 11));
}

} // namespace kofu::certificate
