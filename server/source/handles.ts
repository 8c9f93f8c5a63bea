/**
 * @module server/source/handles — the random two-word names editors see for sources
 * ("amber-heron"). Random, not derived from anything the source knows or sends.
 */
import { randomInt } from 'node:crypto';

// Plain, neutral, easy to say aloud; no colours of politics, no words that could read as a verdict.
const ADJECTIVES = `amber brave bright brisk calm clever cool cosy crisp curious dapper deft eager early
even fair fancy fast fine firm fluffy fond frank fresh gentle glad golden grand green happy hardy
hasty honest humble jolly keen kind late lively lucky mellow merry mighty mild misty modest neat
nimble noble odd patient plain polite proud quick quiet rapid rare ready rosy round rustic sandy
shiny silent silver simple sleek slow smooth snowy soft solid spry steady stout sturdy sunny swift
tall tame tidy tiny tranquil true vivid warm wavy wise witty young zesty`.split(/\s+/);

const ANIMALS = `albatross alpaca antelope badger beaver bison bobcat buffalo camel caribou cheetah
chipmunk cobra condor cougar coyote crane cricket dingo dolphin donkey dove eagle egret elk falcon
ferret finch flamingo fox gazelle gecko gibbon giraffe goose gopher grouse hare hawk hedgehog heron
hippo ibex ibis iguana impala jackal jaguar kestrel kingfisher koala lemur leopard lion llama lynx
macaw magpie manatee marmot marten meerkat mink mole moose newt ocelot octopus orca osprey otter owl
panda panther parrot pelican penguin pheasant pigeon puffin quail rabbit raccoon raven robin salmon
seal shark sparrow squirrel stork swan tapir tiger toucan turtle viper walrus weasel whale wolf
wombat wren yak zebra`.split(/\s+/);

export const HANDLE_COMBINATIONS = ADJECTIVES.length * ANIMALS.length;

/** One random handle. The caller retries on a collision (the handle column is unique). */
export function randomHandle(attempt = 0): string {
  const base = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${ANIMALS[randomInt(ANIMALS.length)]}`;
  // after many collisions the space is crowded: widen it with a number rather than loop for ever
  return attempt < 8 ? base : `${base}-${randomInt(10, 10_000)}`;
}
