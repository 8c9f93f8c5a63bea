/**
 * @module test/e2e/instance-fixtures — the `instance` part of /api/v1/config as a newsroom with a
 * very long name and a very long Khmer call for tips would serve it (the layout check), and a
 * hostile one that tries to put markup and script links on the page. In the API's shape (every
 * language present after the English fallback), so a story can serve it through the harness's
 * `alterConfig` whatever instance file the server itself read.
 */
import type { Instance } from '../../client/lib/instance.ts';

type L = NonNullable<Instance['callForTips']>['en'];
const all = <T>(en: T, ko: T, zh: T, ru: T, km: T) => ({ en, ko, zh, ru, km });
const para = (text: string) => ({ p: [{ text }] });

/** 120 characters, the most the instance file takes (protocol/instance.ts MAX_INSTANCE_NAME_CHARS). */
/** A v3 onion address (56 base32 characters): the one kind of http: link the page keeps. */
export const ONION = 'http://' + 'a'.repeat(56) + '.onion/';

export const LONG_NAME = 'Independent Investigative Newsroom for Workers Abroad and Sanctions — Phnom Penh, Vladivostok, Dandong (Редакция)';

/** Khmer is written without spaces between words: a line may break only where the browser finds a word's end. */
const KHMER_CALL =
  'ប្រសិនបើអ្នកមានព័ត៌មានអំពីការគេចវេសពីទណ្ឌកម្មលើប្រទេសកូរ៉េខាងជើង អំពីពលករកូរ៉េខាងជើងដែលធ្វើការនៅកម្ពុជា ចិន ឬរុស្ស៊ី អំពីក្រុមហ៊ុនដែលជួលពួកគេ ឬអំពីកប៉ាល់ដែលដឹកទំនិញដោយរំលោភទណ្ឌកម្ម សូមទាក់ទងមកយើងតាមរយៈទំព័រនេះ។ ' +
  'យើងការពារអត្តសញ្ញាណរបស់អ្នក៖ សាររបស់អ្នកត្រូវបានអ៊ិនគ្រីបនៅលើឧបករណ៍របស់អ្នក មុនពេលវាចាកចេញ ហើយយើងមិនដឹងថាអ្នកជានរណាទេ។ ' +
  'ព័ត៌មានអំពីទីកន្លែងការងារកាលបរិច្ឆេទឈ្មោះក្រុមហ៊ុនលេខកប៉ាល់ឬឯកសារដែលអ្នកមានគឺមានប្រយោជន៍ខ្លាំងណាស់សម្រាប់ការស៊ើបអង្កេតរបស់យើងអំពីការគេចវេសពីទណ្ឌកម្មនិងការកេងប្រវ័ញ្ចពលករនៅបរទេស។';

const call: Instance['callForTips'] = all<L>(
  [
    para('If you have any information about evasion of DPRK sanctions, about North Korean workers in Cambodia, China or Russia, the companies that hire them or the ships that carry sanctioned goods, please get in touch.'),
    { p: [{ text: 'We protect our sources: ' }, { text: 'your message is encrypted on your device', strong: true }, { text: '. Read ' }, { text: 'our methods', href: 'https://example.org/methods' }, { text: '.' }] },
  ],
  [para('북한 제재 회피, 캄보디아·중국·러시아에서 일하는 북한 노동자, 그들을 고용한 회사나 제재 물품을 실어 나르는 배에 대해 아는 것이 있으면 연락해 주세요.')],
  [para('如果您了解规避对朝鲜制裁的情况，了解在柬埔寨、中国或俄罗斯工作的朝鲜工人、雇用他们的公司或运送受制裁货物的船只，请与我们联系。')],
  [para('Если вы знаете что-либо об обходе санкций против КНДР, о северокорейских рабочих в Камбодже, Китае или России, о компаниях, которые их нанимают, или о судах, перевозящих подсанкционные грузы, свяжитесь с нами.')],
  [para(KHMER_CALL), para(KHMER_CALL)],
);

const label = (en: string, ko: string, zh: string, ru: string, km: string) => all(en, ko, zh, ru, km);

export const LONG_INSTANCE: Instance = {
  name: LONG_NAME,
  poweredBy: 'Sealdrop',
  logo: null,
  callForTips: call,
  intro: all<L>(
    [para('Tell us what you saw, where and when. Answer only the questions you are comfortable with.')],
    [para('무엇을, 어디서, 언제 보았는지 알려 주세요. 답하기 편한 질문에만 답하세요.')],
    [para('请告诉我们您看到了什么、在哪里、什么时候。只回答您愿意回答的问题。')],
    [para('Расскажите, что вы видели, где и когда. Отвечайте только на те вопросы, на которые вам удобно отвечать.')],
    [para('សូមប្រាប់យើងពីអ្វីដែលអ្នកបានឃើញ នៅកន្លែងណា និងពេលណា។ សូមឆ្លើយតែសំណួរដែលអ្នកស្រួលចិត្តឆ្លើយប៉ុណ្ណោះ។')],
  ),
  questions: [
    {
      id: 'where',
      kind: 'short',
      label: label('Where did this happen?', '어디에서 있었던 일입니까?', '这件事发生在哪里？', 'Где это произошло?', 'តើរឿងនេះបានកើតឡើងនៅកន្លែងណា?'),
      help: label('A city, a port, a work site.', '도시, 항구, 작업장 등.', '城市、港口或工地。', 'Город, порт, место работы.', 'ទីក្រុង កំពង់ផែ ឬការដ្ឋាន។'),
      required: true,
      options: [],
    },
    {
      id: 'how',
      kind: 'long',
      label: label('How do you know this?', '이 일을 어떻게 알게 되었습니까?', '您是怎么知道这些的？', 'Откуда вы это знаете?', 'តើអ្នកដឹងរឿងនេះដោយរបៀបណា?'),
      help: null,
      required: false,
      options: [],
    },
    {
      id: 'country',
      kind: 'choice',
      label: label('In which country?', '어느 나라입니까?', '在哪个国家？', 'В какой стране?', 'នៅប្រទេសណា?'),
      help: null,
      required: true,
      options: [
        { id: 'kh', label: label('Cambodia', '캄보디아', '柬埔寨', 'Камбоджа', 'កម្ពុជា') },
        { id: 'cn', label: label('China', '중국', '中国', 'Китай', 'ចិន') },
        { id: 'ru', label: label('Russia', '러시아', '俄罗斯', 'Россия', 'រុស្ស៊ី') },
      ],
    },
    {
      id: 'have',
      kind: 'choices',
      label: label('What do you have?', '무엇을 가지고 있습니까?', '您手上有什么？', 'Что у вас есть?', 'តើអ្នកមានអ្វីខ្លះ?'),
      help: null,
      required: false,
      options: [
        { id: 'photos', label: label('Photos', '사진', '照片', 'Фотографии', 'រូបថត') },
        { id: 'documents', label: label('Documents', '문서', '文件', 'Документы', 'ឯកសារ') },
      ],
    },
  ],
  desks: [
    {
      id: 'workers',
      name: label('Workers abroad', '해외 노동자', '海外劳工', 'Рабочие за рубежом', 'ពលករនៅបរទេស'),
      description: label(
        'North Korean workers in Cambodia, China and Russia.',
        '캄보디아, 중국, 러시아의 북한 노동자.',
        '在柬埔寨、中国和俄罗斯的朝鲜工人。',
        'Северокорейские рабочие в Камбодже, Китае и России.',
        'ពលករកូរ៉េខាងជើងនៅកម្ពុជា ចិន និងរុស្ស៊ី។',
      ),
    },
    {
      id: 'sanctions',
      name: label('Sanctions and shipping', '제재와 해운', '制裁与航运', 'Санкции и судоходство', 'ទណ្ឌកម្ម និងការដឹកជញ្ជូនតាមកប៉ាល់'),
      description: null,
    },
    { id: 'general', name: label('General', '일반', '综合', 'Общий отдел', 'ទូទៅ'), description: null },
  ],
  fallbacks: [],
};

/**
 * What a hostile server might put in the instance that the page's check lets through: markup as
 * text. (A link to anything but https: or an onion service is refused whole: UNSAFE_LINKS.)
 */
export const HOSTILE_INSTANCE: Instance = {
  ...LONG_INSTANCE,
  name: '<img src=x onerror="window.__owned=1">Evil',
  callForTips: all<L>(
    [
      {
        p: [
          { text: '<script>window.__owned=1</script>' },
          { text: 'https link', href: 'https://example.org/' },
          { text: 'onion link', href: ONION },
        ],
      },
    ],
    [para('<b>ko</b>')],
    [para('<b>zh</b>')],
    [para('<b>ru</b>')],
    [para('<b>km</b>')],
  ),
  questions: [],
  desks: [],
};

/** Links the page must never make: each makes the whole instance refused. */
export const UNSAFE_LINKS = ['javascript:window.__owned=1', 'data:text/html,<script>window.__owned=1</script>', 'http://example.org/', 'http://short.onion/'];
