// Generates the houses dataset of the regression example: a price from floor
// area, rooms, age and district, plus noise. Seeded (a 32-bit LCG), so the
// same arguments write the same bytes.
// Usage: node generate.mjs OUT.csv ROWS SEED
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const [out, rowsArg, seedArg] = process.argv.slice(2);
const rows = Number(rowsArg);
let state = Number(seedArg) >>> 0;
const random = () => {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 2 ** 32;
};
const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const districts = { centre: 900, north: 400, south: 250, harbour: 650 };
const names = Object.keys(districts);
const lines = ['area_m2,rooms,age_years,district,price_k'];
for (let i = 0; i < rows; i++) {
  const area = Math.round(35 + random() * 140);
  const rooms = Math.max(1, Math.min(7, Math.round(area / 28 + normal() * 0.7)));
  const age = Math.round(random() * 80);
  const district = names[Math.floor(random() * names.length)];
  const price = 40 + area * 2.1 + rooms * 12 - age * 0.9 + districts[district] * 0.12 + normal() * 12;
  lines.push(`${area},${rooms},${age},${district},${price.toFixed(1)}`);
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${lines.join('\n')}\n`);
console.log(`${rows} rows → ${out}`);
