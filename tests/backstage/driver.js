// Backstage's own code, driven by the template's tests (harness/backstage.py).
//
//   node driver.js < jobs.json   reads a JSON list of jobs, {"command": ..., "request": {...}}, and
//   writes a JSON list of answers in the same order: {"result": ...} or, when Backstage refuses,
//   {"error": {"name": ..., "message": ...}}. One process runs many jobs: loading Backstage is slow.
//
// Commands:
//   values    render the fetch:cookiecutter step's input of a Template with Backstage's template
//             engine (nunjitsu, set up like the scaffolder's NunjucksWorkflowRunner);
//   fetch     run the real fetch:cookiecutter action (its handler, through createMockActionContext)
//             with that input, as a Template registered at baseUrl;
//   entities  process every entity of a YAML file, registered in the catalog at a URL, as the catalog does:
//             its PlaceholderProcessor (a $text, $json or $yaml placeholder becomes the data of the file it
//             names, read through the URL reader), then its entity policies and kind validators;
//   validate  the same, answered with the entities' references.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

// createMockActionContext is written for Jest: it calls jest.fn(). A minimal stand-in for that
// global (a function that records nothing and returns what it was told to) is all it needs.
globalThis.jest = {
  fn(implementation) {
    let impl = implementation ?? (() => undefined);
    const mock = (...args) => impl(...args);
    mock.mockImplementation = (next) => ((impl = next), mock);
    mock.mockReturnValue = (value) => ((impl = () => value), mock);
    mock.mockResolvedValue = (value) => ((impl = () => Promise.resolve(value)), mock);
    return mock;
  },
};

const YAML = require('yaml');

// Loaded on first use: each takes seconds.
const lazy = (load) => {
  let value;
  return () => (value ??= load());
};
const integrations = lazy(() => {
  const { ConfigReader } = require('@backstage/config');
  const { ScmIntegrations } = require('@backstage/integration');
  // No integration configured: Backstage then knows github.com (and the other public hosts) by default.
  return ScmIntegrations.fromConfig(new ConfigReader({}));
});

// The scaffolder's renderer: nunjitsu with regexes allowed and the default parseRepoUrl filter.
const renderer = lazy(() => {
  const { createTemplateRenderer } = require('nunjitsu');
  const { parseRepoUrl } = require('@backstage/plugin-scaffolder-node');
  return createTemplateRenderer({
    allowRegexExecution: true,
    filters: { parseRepoUrl: (url) => parseRepoUrl(url, integrations()) },
  });
});

// NunjucksWorkflowRunner.render: every string of the input is rendered, JSON-coerced, in place; a
// value that renders to undefined drops out, one that fails to render stays as written.
function renderInput(input, context) {
  return JSON.parse(JSON.stringify(input), (_key, value) => {
    if (typeof value !== 'string') return value;
    try {
      return renderer().renderValue(value, context, { coercion: 'json' });
    } catch {
      return value;
    }
  });
}

function fetchStep(templateFile) {
  const template = YAML.parse(fs.readFileSync(templateFile, 'utf8'));
  const steps = template.spec.steps.filter((step) => step.action === 'fetch:cookiecutter');
  if (steps.length !== 1) throw new Error(`expected one fetch:cookiecutter step, found ${steps.length}`);
  return steps[0];
}

function stepInput({ template, parameters }) {
  return renderInput(fetchStep(template).input, { parameters });
}

// Stands in for the GitHub reader (GitHub is out of reach here): it serves the tree below
// `served.url` from the local `served.directory`, and records which URLs were asked for.
function localReader(served, readUrls) {
  const { resolveSafeChildPath } = require('@backstage/backend-plugin-api');
  return {
    async readTree(url) {
      readUrls.push(url);
      if (!served || !url.startsWith(served.url)) throw new Error(`no tree served at ${url}`);
      const source = resolveSafeChildPath(served.directory, decodeURIComponent(url.slice(served.url.length)));
      return { dir: async ({ targetDir }) => (fs.cpSync(source, targetDir, { recursive: true }), targetDir) };
    },
    async readUrl(url) {
      throw new Error(`readUrl is not served: ${url}`);
    },
    async search(url) {
      throw new Error(`search is not served: ${url}`);
    },
  };
}

function stderrLogger() {
  const write = (level) => (message) => process.stderr.write(`${level}: ${message}\n`);
  const logger = { error: write('error'), warn: write('warn'), info: write('info'), debug: () => {} };
  logger.child = () => logger;
  return logger;
}

async function fetchCookiecutter({ template, baseUrl, parameters, workspace, scratch, served }) {
  const { createMockActionContext } = require('@backstage/plugin-scaffolder-node-test-utils');
  const { createFetchCookiecutterAction } = require('@backstage/plugin-scaffolder-backend-module-cookiecutter');
  const input = stepInput({ template, parameters });
  const readUrls = [];
  const action = createFetchCookiecutterAction({ reader: localReader(served, readUrls), integrations: integrations() });
  const ctx = createMockActionContext({
    input,
    workspacePath: workspace,
    templateInfo: { baseUrl, entityRef: 'template:default/go-scratch-service' },
    logger: stderrLogger(),
  });
  // The mock hands out the workspace itself as temporary directory; the scaffolder gives a fresh one.
  ctx.createTemporaryDirectory = async () => fs.mkdtempSync(path.join(scratch, 'step-'));
  await action.handler(ctx);
  return { input, readUrls };
}

// The catalog's default entity policies (CatalogBuilder), then the validator of the entity's kind:
// the catalog's built-in kinds and the scaffolder's Template.
const validators = lazy(() => {
  const model = require('@backstage/catalog-model');
  const { templateEntityV1beta3Validator } = require('@backstage/plugin-scaffolder-common');
  return {
    stringifyEntityRef: model.stringifyEntityRef,
    policies: model.EntityPolicies.allOf([
      new model.SchemaValidEntityPolicy(),
      new model.DefaultNamespaceEntityPolicy(),
      new model.NoForeignRootFieldsEntityPolicy(),
      new model.FieldFormatEntityPolicy(),
    ]),
    kinds: [
      model.apiEntityV1alpha1Validator,
      model.componentEntityV1alpha1Validator,
      model.domainEntityV1alpha1Validator,
      model.groupEntityV1alpha1Validator,
      model.locationEntityV1alpha1Validator,
      model.resourceEntityV1alpha1Validator,
      model.systemEntityV1alpha1Validator,
      model.userEntityV1alpha1Validator,
      templateEntityV1beta3Validator,
    ],
  };
});

// The catalog's PlaceholderProcessor with its default resolvers, as the catalog's builder sets it up. The
// package exports the processor but not the resolvers: both come from the processor's own module.
const placeholders = lazy(() => {
  const root = path.dirname(require.resolve('@backstage/plugin-catalog-backend/package.json'));
  const { PlaceholderProcessor, jsonPlaceholderResolver, yamlPlaceholderResolver, textPlaceholderResolver } = require(
    path.join(root, 'dist', 'processors', 'PlaceholderProcessor.cjs.js'),
  );
  if (PlaceholderProcessor !== require('@backstage/plugin-catalog-backend').PlaceholderProcessor) {
    throw new Error('the PlaceholderProcessor module is not the one the package exports');
  }
  return {
    PlaceholderProcessor,
    resolvers: { json: jsonPlaceholderResolver, yaml: yamlPlaceholderResolver, text: textPlaceholderResolver },
  };
});

// Stands in for the catalog's GitHub URL reader (GitHub is out of reach here): a URL asked for becomes the
// raw file URL that reader fetches (Backstage's getGithubFileFetchUrl, no token), and the files below the
// folder of `url` are served from the folder of `file`. It records which URLs were asked for.
function localFileReader({ file, url }, readUrls) {
  const { getGithubFileFetchUrl } = require('@backstage/integration');
  const { resolveSafeChildPath } = require('@backstage/backend-plugin-api');
  const fetchUrl = (asked) => {
    const github = integrations().github.byUrl(asked);
    if (!github) throw new Error(`no GitHub integration for ${asked}`);
    return getGithubFileFetchUrl(asked, github.config, {});
  };
  const servedUrl = new URL('.', fetchUrl(url)).href;
  return {
    async readUrl(asked) {
      readUrls.push(asked);
      const fetched = fetchUrl(asked);
      if (!fetched.startsWith(servedUrl)) throw new Error(`no file served at ${asked}`);
      const source = resolveSafeChildPath(path.dirname(file), decodeURIComponent(fetched.slice(servedUrl.length)));
      const data = fs.readFileSync(source);
      return { buffer: async () => data };
    },
    async readTree(asked) {
      throw new Error(`readTree is not served: ${asked}`);
    },
    async search(asked) {
      throw new Error(`search is not served: ${asked}`);
    },
  };
}

// The catalog's processing of each entity of `file`, registered at `url` (a url location, as
// catalog:register makes): pre-processing by the PlaceholderProcessor, then the policies, then the
// kind validators.
async function processEntities({ file, url }) {
  const { policies, kinds } = validators();
  const { PlaceholderProcessor, resolvers } = placeholders();
  const readUrls = [];
  const processor = new PlaceholderProcessor({
    resolvers,
    reader: localFileReader({ file, url }, readUrls),
    integrations: integrations(),
  });
  const location = { type: 'url', target: url };
  const emitted = [];
  const entities = [];
  for (const document of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
    if (document.errors.length > 0) throw document.errors[0];
    const processed = await processor.preProcessEntity(document.toJSON(), location, (r) => emitted.push(r), location);
    const entity = await policies.enforce(processed);
    const checks = await Promise.all(kinds.map((validator) => validator.check(entity)));
    if (!checks.includes(true)) throw new Error(`no validator knows ${entity.apiVersion} ${entity.kind}`);
    entities.push(entity);
  }
  return { entities, readUrls, emitted };
}

async function validate(request) {
  const { stringifyEntityRef } = validators();
  return (await processEntities(request)).entities.map((entity) => stringifyEntityRef(entity));
}

const commands = { values: stepInput, fetch: fetchCookiecutter, entities: processEntities, validate };

async function runJob({ command, request }) {
  if (!commands[command]) throw new Error(`unknown command ${command}: ${Object.keys(commands).join(', ')}`);
  try {
    return { result: (await commands[command](request)) ?? null };
  } catch (error) {
    return { error: { name: error.name, message: error.message } };
  }
}

async function main() {
  const answers = [];
  for (const job of JSON.parse(fs.readFileSync(0, 'utf8'))) answers.push(await runJob(job));
  process.stdout.write(JSON.stringify(answers));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(2);
});
