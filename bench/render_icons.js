// Renders brand icons from simple-icons (CC0) to PNG with resvg, for the favicon hashes of
// the built-in brands. Usage: node render_icons.js BRANDS_JSON NODE_MODULES OUT_DIR
// Writes OUT_DIR/brand/<brand index>-<slug>-<size>.png for icons that match a built-in brand
// and OUT_DIR/other/<slug>.png for every other icon (the false-positive population).
const fs = require('fs');
const path = require('path');
const [brandsPath, modules, out] = process.argv.slice(2);
const { Resvg } = require(path.resolve(modules, '@resvg/resvg-js'));
const iconsDir = path.join(modules, 'simple-icons/icons');
const data = JSON.parse(fs.readFileSync(path.join(modules, 'simple-icons/data/simple-icons.json')));
const colour = {};
for (const icon of data.icons || data) {
  const slug = icon.slug || icon.title.toLowerCase().replace(/[^a-z0-9]/g, '');
  colour[slug] = icon.hex;
}
const brands = JSON.parse(fs.readFileSync(brandsPath));
const slugs = new Set(fs.readdirSync(iconsDir).map((f) => f.replace(/\.svg$/, '')));
// Names whose simple-icons slug is not the plain lower-cased name.
const alias = { 'X (Twitter)': 'x', 'Disney+': 'disneyplus', 'Paramount+': 'paramountplus', 'HBO Max': 'hbomax', 'The Home Depot': 'homedepot', "Lowe's": 'lowes', 'AT&T': 'atandt', 'Booking.com': 'bookingdotcom', 'Crypto.com': 'cryptodotcom', 'Gate.io': 'gatedotio', 'Canal+': 'canalplus', 'Prime Video': 'primevideo', 'Yahoo! JAPAN': 'yahoojapan', 'WEB.DE': 'webdotde' };
function render(svgFile, hex, size) {
  let svg = fs.readFileSync(svgFile, 'utf8');
  svg = svg.replace('<svg ', `<svg fill="#${hex || '000000'}" `);
  const resvg = new Resvg(svg, { fitTo: { mode: 'width', value: size }, background: 'white' });
  return resvg.render().asPng();
}
fs.mkdirSync(path.join(out, 'brand'), { recursive: true });
fs.mkdirSync(path.join(out, 'other'), { recursive: true });
const used = new Set();
brands.forEach((b, i) => {
  const candidates = [alias[b.name], b.name.toLowerCase().replace(/[^a-z0-9]/g, ''), ...(b.labels || [])].filter(Boolean);
  const slug = candidates.find((c) => slugs.has(c));
  if (!slug) return;
  used.add(slug);
  for (const size of [16, 32, 64]) {
    fs.writeFileSync(path.join(out, 'brand', `${i}-${slug}-${size}.png`), render(path.join(iconsDir, slug + '.svg'), colour[slug], size));
  }
});
for (const slug of [...slugs].sort()) {
  if (used.has(slug)) continue;
  fs.writeFileSync(path.join(out, 'other', `${slug}.png`), render(path.join(iconsDir, slug + '.svg'), colour[slug], 32));
}
console.log(`${used.size} brands with an icon, ${slugs.size - used.size} other icons`);
