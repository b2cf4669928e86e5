#!/usr/bin/env node
// Builds the data of the built-in emoji scenes (src/data/scenes.ts), shipped with the app:
//   public/scenes/emoji-atlas.png  the chosen 64x64 emoji sprites (RGBA), packed row-major in a grid
//   public/scenes/emoji.json       their caption names, broad categories and atlas positions
// Sprites are Google's Noto Emoji (Apache License 2.0) as npm `emoji-datasource-google` ships them.
// Usage: node scripts/build-scenes.mjs   (needs the devDependencies emoji-datasource-google and pngjs)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'public', 'scenes');
const SPRITE = 64;
const COLUMNS = 16;

/**
 * The chosen emoji, by category: [emoji-datasource short_name, the name captions use]. Picked to be nameable
 * objects a caption can say in a few plain words ("pair of" for things that come in twos, so that "a large ..."
 * reads well), visually distinct from each other; no flags, symbols, faces, people or skin-tone variants.
 * Names must be unique and contain no '.', which splits caption sentences.
 */
const CHOSEN = {
  animal: [
    ['monkey', 'monkey'],
    ['gorilla', 'gorilla'],
    ['dog2', 'dog'],
    ['wolf', 'wolf'],
    ['fox_face', 'fox'],
    ['cat2', 'cat'],
    ['black_cat', 'black cat'],
    ['lion_face', 'lion'],
    ['tiger2', 'tiger'],
    ['racehorse', 'horse'],
    ['unicorn_face', 'unicorn'],
    ['zebra_face', 'zebra'],
    ['deer', 'deer'],
    ['cow2', 'cow'],
    ['pig2', 'pig'],
    ['dromedary_camel', 'camel'],
    ['llama', 'llama'],
    ['giraffe_face', 'giraffe'],
    ['elephant', 'elephant'],
    ['rhinoceros', 'rhinoceros'],
    ['hippopotamus', 'hippopotamus'],
    ['mouse2', 'mouse'],
    ['rabbit2', 'rabbit'],
    ['hedgehog', 'hedgehog'],
    ['bat', 'bat'],
    ['bear', 'bear'],
    ['polar_bear', 'polar bear'],
    ['koala', 'koala'],
    ['panda_face', 'panda'],
    ['kangaroo', 'kangaroo'],
    ['frog', 'frog'],
    ['crocodile', 'crocodile'],
    ['turtle', 'turtle'],
    ['snake', 'snake'],
    ['dragon', 'dragon'],
    ['t-rex', 't-rex'],
  ],
  bird: [
    ['turkey', 'turkey'],
    ['rooster', 'rooster'],
    ['baby_chick', 'baby chick'],
    ['bird', 'bluebird'],
    ['penguin', 'penguin'],
    ['eagle', 'eagle'],
    ['duck', 'duck'],
    ['swan', 'swan'],
    ['owl', 'owl'],
    ['flamingo', 'flamingo'],
    ['peacock', 'peacock'],
    ['parrot', 'parrot'],
  ],
  'sea creature': [
    ['whale2', 'whale'],
    ['dolphin', 'dolphin'],
    ['seal', 'seal'],
    ['fish', 'fish'],
    ['tropical_fish', 'tropical fish'],
    ['blowfish', 'pufferfish'],
    ['shark', 'shark'],
    ['octopus', 'octopus'],
    ['shell', 'seashell'],
    ['jellyfish', 'jellyfish'],
    ['crab', 'crab'],
    ['lobster', 'lobster'],
  ],
  bug: [
    ['snail', 'snail'],
    ['butterfly', 'butterfly'],
    ['bug', 'caterpillar'],
    ['ant', 'ant'],
    ['bee', 'bee'],
    ['ladybug', 'ladybird'],
    ['spider', 'spider'],
    ['spider_web', 'spider web'],
    ['scorpion', 'scorpion'],
  ],
  plant: [
    ['bouquet', 'bouquet of flowers'],
    ['cherry_blossom', 'cherry blossom'],
    ['rose', 'rose'],
    ['hibiscus', 'hibiscus flower'],
    ['sunflower', 'sunflower'],
    ['tulip', 'tulip'],
    ['seedling', 'seedling'],
    ['potted_plant', 'potted plant'],
    ['evergreen_tree', 'pine tree'],
    ['deciduous_tree', 'tree'],
    ['palm_tree', 'palm tree'],
    ['cactus', 'cactus'],
    ['four_leaf_clover', 'four-leaf clover'],
    ['maple_leaf', 'maple leaf'],
    ['mushroom', 'mushroom'],
    ['nest_with_eggs', 'nest with eggs'],
  ],
  fruit: [
    ['grapes', 'bunch of grapes'],
    ['watermelon', 'slice of watermelon'],
    ['tangerine', 'orange'],
    ['lemon', 'lemon'],
    ['banana', 'banana'],
    ['pineapple', 'pineapple'],
    ['mango', 'mango'],
    ['apple', 'red apple'],
    ['green_apple', 'green apple'],
    ['pear', 'pear'],
    ['peach', 'peach'],
    ['cherries', 'pair of cherries'],
    ['strawberry', 'strawberry'],
    ['kiwifruit', 'kiwi'],
    ['tomato', 'tomato'],
    ['coconut', 'coconut'],
  ],
  vegetable: [
    ['avocado', 'avocado'],
    ['eggplant', 'aubergine'],
    ['potato', 'potato'],
    ['carrot', 'carrot'],
    ['corn', 'ear of corn'],
    ['hot_pepper', 'chili pepper'],
    ['bell_pepper', 'green pepper'],
    ['cucumber', 'cucumber'],
    ['broccoli', 'broccoli'],
    ['garlic', 'garlic bulb'],
    ['onion', 'onion'],
  ],
  food: [
    ['bread', 'loaf of bread'],
    ['croissant', 'croissant'],
    ['pretzel', 'pretzel'],
    ['pancakes', 'stack of pancakes'],
    ['cheese_wedge', 'wedge of cheese'],
    ['meat_on_bone', 'meat on the bone'],
    ['hamburger', 'hamburger'],
    ['fries', 'carton of fries'],
    ['pizza', 'slice of pizza'],
    ['hotdog', 'hot dog'],
    ['sandwich', 'sandwich'],
    ['taco', 'taco'],
    ['egg', 'egg'],
    ['fried_egg', 'fried egg'],
    ['green_salad', 'bowl of salad'],
    ['popcorn', 'box of popcorn'],
    ['spaghetti', 'plate of spaghetti'],
    ['ramen', 'bowl of noodles'],
    ['sushi', 'plate of sushi'],
    ['icecream', 'ice cream cone'],
    ['doughnut', 'doughnut'],
    ['cookie', 'cookie'],
    ['birthday', 'birthday cake'],
    ['cupcake', 'cupcake'],
    ['chocolate_bar', 'chocolate bar'],
    ['lollipop', 'lollipop'],
  ],
  drink: [
    ['glass_of_milk', 'glass of milk'],
    ['coffee', 'cup of coffee'],
    ['teapot', 'teapot'],
    ['champagne', 'bottle of champagne'],
    ['wine_glass', 'glass of red wine'],
    ['cocktail', 'cocktail glass'],
    ['beer', 'mug of beer'],
    ['bubble_tea', 'cup of bubble tea'],
    ['beverage_box', 'juice box'],
  ],
  vehicle: [
    ['steam_locomotive', 'steam locomotive'],
    ['bus', 'bus'],
    ['ambulance', 'ambulance'],
    ['fire_engine', 'fire engine'],
    ['police_car', 'police car'],
    ['taxi', 'taxi'],
    ['car', 'red car'],
    ['truck', 'delivery truck'],
    ['tractor', 'tractor'],
    ['racing_car', 'racing car'],
    ['racing_motorcycle', 'motorcycle'],
    ['bike', 'bicycle'],
    ['skateboard', 'skateboard'],
    ['airplane', 'airplane'],
    ['helicopter', 'helicopter'],
    ['satellite', 'satellite'],
    ['rocket', 'rocket'],
    ['flying_saucer', 'flying saucer'],
    ['boat', 'sailboat'],
    ['canoe', 'canoe'],
    ['speedboat', 'speedboat'],
    ['passenger_ship', 'cruise ship'],
  ],
  sport: [
    ['soccer', 'soccer ball'],
    ['baseball', 'baseball'],
    ['basketball', 'basketball'],
    ['volleyball', 'volleyball'],
    ['football', 'american football'],
    ['tennis', 'tennis racket'],
    ['flying_disc', 'frisbee'],
    ['bowling', 'bowling ball and pins'],
    ['boxing_glove', 'boxing glove'],
    ['fishing_pole_and_fish', 'fishing rod'],
    ['ski', 'pair of skis'],
    ['sled', 'sled'],
    ['trophy', 'trophy'],
    ['8ball', 'pool ball'],
    ['dart', 'dartboard'],
  ],
  toy: [
    ['kite', 'kite'],
    ['crystal_ball', 'crystal ball'],
    ['video_game', 'game controller'],
    ['game_die', 'dice'],
    ['jigsaw', 'puzzle piece'],
    ['teddy_bear', 'teddy bear'],
    ['pinata', 'pinata'],
    ['mirror_ball', 'disco ball'],
    ['balloon', 'red balloon'],
    ['gift', 'wrapped present'],
    ['christmas_tree', 'christmas tree'],
    ['jack_o_lantern', 'carved pumpkin'],
  ],
  instrument: [
    ['saxophone', 'saxophone'],
    ['accordion', 'accordion'],
    ['guitar', 'guitar'],
    ['musical_keyboard', 'piano keyboard'],
    ['trumpet', 'trumpet'],
    ['violin', 'violin'],
    ['drum_with_drumsticks', 'drum'],
    ['maracas', 'pair of maracas'],
    ['harp', 'harp'],
    ['microphone', 'microphone'],
    ['headphones', 'pair of headphones'],
    ['radio', 'radio'],
  ],
  clothing: [
    ['eyeglasses', 'pair of glasses'],
    ['dark_sunglasses', 'pair of sunglasses'],
    ['necktie', 'tie'],
    ['shirt', 't-shirt'],
    ['jeans', 'pair of jeans'],
    ['gloves', 'pair of gloves'],
    ['coat', 'coat'],
    ['socks', 'pair of socks'],
    ['dress', 'dress'],
    ['kimono', 'kimono'],
    ['handbag', 'handbag'],
    ['school_satchel', 'backpack'],
    ['athletic_shoe', 'running shoe'],
    ['high_heel', 'high-heeled shoe'],
    ['boot', 'boot'],
    ['crown', 'crown'],
    ['tophat', 'top hat'],
    ['mortar_board', 'graduation cap'],
    ['billed_cap', 'baseball cap'],
    ['lipstick', 'lipstick'],
    ['ring', 'diamond ring'],
  ],
  household: [
    ['door', 'door'],
    ['bed', 'bed'],
    ['chair', 'chair'],
    ['toilet', 'toilet'],
    ['bathtub', 'bathtub'],
    ['broom', 'broom'],
    ['basket', 'basket'],
    ['bucket', 'bucket'],
    ['shopping_trolley', 'shopping cart'],
    ['candle', 'candle'],
    ['bulb', 'light bulb'],
    ['flashlight', 'torch'],
    ['hocho', 'kitchen knife'],
    ['alarm_clock', 'alarm clock'],
    ['luggage', 'suitcase'],
    ['umbrella', 'umbrella'],
  ],
  tool: [
    ['hammer', 'hammer'],
    ['axe', 'axe'],
    ['pick', 'pickaxe'],
    ['carpentry_saw', 'saw'],
    ['wrench', 'wrench'],
    ['screwdriver', 'screwdriver'],
    ['gear', 'gear'],
    ['magnet', 'magnet'],
    ['toolbox', 'toolbox'],
    ['bomb', 'bomb'],
    ['shield', 'shield'],
    ['scissors', 'pair of scissors'],
    ['key', 'key'],
    ['lock', 'padlock'],
    ['anchor', 'anchor'],
  ],
  object: [
    ['computer', 'laptop'],
    ['three_button_mouse', 'computer mouse'],
    ['battery', 'battery'],
    ['iphone', 'mobile phone'],
    ['phone', 'telephone'],
    ['camera', 'camera'],
    ['tv', 'television'],
    ['mag', 'magnifying glass'],
    ['telescope', 'telescope'],
    ['microscope', 'microscope'],
    ['briefcase', 'briefcase'],
    ['books', 'stack of books'],
    ['book', 'open book'],
    ['pencil2', 'pencil'],
    ['email', 'envelope'],
    ['package', 'cardboard box'],
    ['art', 'artist palette'],
    ['frame_with_picture', 'framed picture'],
    ['yarn', 'ball of yarn'],
    ['moyai', 'stone head'],
  ],
  'sky and land': [
    ['sunny', 'sun'],
    ['crescent_moon', 'crescent moon'],
    ['star', 'star'],
    ['cloud', 'cloud'],
    ['rainbow', 'rainbow'],
    ['snowflake', 'snowflake'],
    ['snowman', 'snowman'],
    ['tornado', 'tornado'],
    ['fire', 'flame'],
    ['droplet', 'water drop'],
    ['zap', 'lightning bolt'],
    ['ringed_planet', 'ringed planet'],
    ['earth_africa', 'globe'],
    ['volcano', 'volcano'],
    ['snow_capped_mountain', 'snowy mountain'],
    ['house', 'house'],
    ['european_castle', 'castle'],
    ['wood', 'log'],
    ['ferris_wheel', 'ferris wheel'],
    ['statue_of_liberty', 'statue of liberty'],
  ],
};

const datasourceDir = dirname(createRequire(join(root, 'package.json')).resolve('emoji-datasource-google/package.json'));
const catalogue = JSON.parse(readFileSync(join(datasourceDir, 'emoji.json'), 'utf8'));
const byShortName = new Map(catalogue.map((e) => [e.short_name, e]));

const chosen = Object.entries(CHOSEN).flatMap(([category, list]) =>
  list.map(([shortName, name]) => {
    const entry = byShortName.get(shortName);
    if (!entry) throw new Error(`no emoji with short_name ${shortName}`);
    if (!entry.has_img_google) throw new Error(`${shortName}: no Google image`);
    if (name.includes('.')) throw new Error(`${name}: '.' splits caption sentences`);
    return { name, category, unified: entry.unified, image: entry.image };
  }),
);
const names = new Set(chosen.map((e) => e.name));
if (names.size !== chosen.length) throw new Error('caption names must be unique');

const rows = Math.ceil(chosen.length / COLUMNS);
const atlas = new pngjs.PNG({ width: COLUMNS * SPRITE, height: rows * SPRITE, colorType: 6 });
atlas.data.fill(0);
const index = chosen.map((e, i) => {
  const sprite = pngjs.PNG.sync.read(readFileSync(join(datasourceDir, 'img', 'google', '64', e.image)));
  if (sprite.width !== SPRITE || sprite.height !== SPRITE) throw new Error(`${e.image}: ${sprite.width}x${sprite.height}`);
  const x = (i % COLUMNS) * SPRITE;
  const y = Math.floor(i / COLUMNS) * SPRITE;
  pngjs.PNG.bitblt(sprite, atlas, 0, 0, SPRITE, SPRITE, x, y);
  return { name: e.name, category: e.category, unified: e.unified, x, y };
});
// Invisible pixels carry no colour: zeroing them lets the PNG compress better and changes no composite.
for (let p = 0; p < atlas.data.length; p += 4) if (atlas.data[p + 3] === 0) atlas.data.fill(0, p, p + 3);

mkdirSync(outDir, { recursive: true });
const png = pngjs.PNG.sync.write(atlas, { colorType: 6, deflateLevel: 9 });
writeFileSync(join(outDir, 'emoji-atlas.png'), png);
const head = {
  source: 'Noto Emoji (Apache License 2.0), 64x64 PNGs from npm emoji-datasource-google',
  sprite: SPRITE,
  atlas: { file: 'emoji-atlas.png', width: atlas.width, height: atlas.height },
};
// One emoji per line: small, and readable in a diff.
const json = `${JSON.stringify(head).slice(0, -1)},"emoji":[\n${index.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`;
writeFileSync(join(outDir, 'emoji.json'), json);
const categories = Object.entries(CHOSEN)
  .map(([c, list]) => `${c} ${list.length}`)
  .join(', ');
console.log(`${chosen.length} emoji (${categories}); atlas ${atlas.width}x${atlas.height}, ${png.length} bytes`);
