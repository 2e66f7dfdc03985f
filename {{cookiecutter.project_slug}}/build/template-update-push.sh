#!/usr/bin/env bash
# template-update-push.sh: CI's second template-update job, the only one that holds a write token.
# It runs nothing from the template or the update branch, and reads nothing of the working tree's
# .git: it takes the branch from the bundle that `make template-update` wrote
# (TEMPLATE_UPDATE_BUNDLE) into an empty repository of its own, with git hooks off and no global or
# system configuration; checks that it is one branch template-update/vX.Y.Z of commits on the
# commit the pipeline runs for (GITHUB_SHA, CI_COMMIT_SHA), none of them a merge; pushes it; and
# opens the pull request (GitHub) or merge request (GitLab) with TEMPLATE_UPDATE_REPORT as its text.
# The report's first line says whether the request is a draft (a MAJOR release, or Action required:
# GitHub's draft, GitLab's "Draft:" title) and whether it gets the label action-required besides
# template-update; on GitHub the labels are a second call, on the pull request's number.
#   GitHub: GH_TOKEN; the repository, server and API from the runner's GITHUB_* variables.
#   GitLab: TEMPLATE_UPDATE_TOKEN; the project, server and API from the CI_* variables.
#   TEMPLATE_UPDATE_REMOTE and TEMPLATE_UPDATE_API replace the remote and the API's base URL.
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
repository="$(mktemp -d)"
trap 'rm -rf "$repository"' EXIT
git init --quiet --bare "$repository"
safe_git() { git --git-dir="$repository" -c core.hooksPath=/dev/null -c credential.helper= "$@"; }

bundle="${TEMPLATE_UPDATE_BUNDLE:-}"
report="${TEMPLATE_UPDATE_REPORT:-}"
[[ -n "$bundle" ]] || fail "TEMPLATE_UPDATE_BUNDLE is not set: the path where make template-update writes its bundle"
if [[ ! -e "$bundle" ]]; then
  echo "nothing to push: make template-update wrote no bundle (the project is at the newest release, or its update branch exists)"
  exit 0
fi
[[ -f "$bundle" ]] || fail "TEMPLATE_UPDATE_BUNDLE=\"$bundle\" is not allowed: the bundle that make template-update wrote"
[[ -f "$report" ]] || fail "TEMPLATE_UPDATE_REPORT=\"$report\" is not allowed: the report that make template-update wrote"
marker="$(head -n 1 "$report")"
[[ "$marker" =~ ^\<!--\ template-update:\ draft=(yes|no)\ action-required=(yes|no)\ --\>$ ]] ||
  fail "the report is not allowed: its first line must be make template-update's <!-- template-update: ... --> line"
draft="${BASH_REMATCH[1]}"
labels=template-update
if [[ "${BASH_REMATCH[2]}" == yes ]]; then labels+=",action-required"; fi
body="$repository/body.md"
tail -n +2 "$report" >"$body" # the text, without that line

if [[ "${GITHUB_ACTIONS:-}" == true ]]; then
  token="${GH_TOKEN:?GH_TOKEN is not set: the workflow token}"
  user=x-access-token
  remote="${TEMPLATE_UPDATE_REMOTE:-$GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git}"
  api="${TEMPLATE_UPDATE_API:-$GITHUB_API_URL}"
  base="$GITHUB_REF_NAME"
  base_commit="$GITHUB_SHA"
elif [[ -n "${CI_API_V4_URL:-}" ]]; then
  token="${TEMPLATE_UPDATE_TOKEN:?TEMPLATE_UPDATE_TOKEN is not set: a project access token in the environment template-update}"
  user=oauth2
  remote="${TEMPLATE_UPDATE_REMOTE:-$CI_SERVER_URL/$CI_PROJECT_PATH.git}"
  api="${TEMPLATE_UPDATE_API:-$CI_API_V4_URL}"
  base="$CI_COMMIT_BRANCH"
  base_commit="$CI_COMMIT_SHA"
else
  fail "template-update-push.sh runs in GitHub Actions or GitLab CI only"
fi

# The bundle must hold exactly one branch, template-update/vX.Y.Z.
heads="$(safe_git bundle list-heads "$bundle")" || fail "$bundle is not a git bundle"
[[ "$heads" =~ ^[0-9a-f]{40}\ refs/heads/(template-update/v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*))$ ]] ||
  fail "the bundle is not allowed: exactly one branch template-update/vX.Y.Z, not: ${heads//$'\n'/, }"
branch="${BASH_REMATCH[1]}"

# Its commits must sit on the commit this pipeline runs for, the base the first job started from.
incoming=refs/template-update/incoming
safe_git fetch --quiet --no-tags "$bundle" "+refs/heads/$branch:$incoming"
safe_git merge-base --is-ancestor "$base_commit" "$incoming" ||
  fail "$branch is not allowed: it does not start from $base's commit $base_commit"
[[ "$(safe_git rev-list --count "$base_commit..$incoming")" -ge 1 ]] || fail "$branch is not allowed: it has no commit"
[[ -z "$(safe_git rev-list --merges "$base_commit..$incoming")" ]] || fail "$branch is not allowed: it has a merge commit"
workflows="$(safe_git diff --name-only "$base_commit" "$incoming" -- .github/workflows)"

# The token never goes on a command line: to git in the environment, to curl in a header file.
auth="AUTHORIZATION: basic $(printf '%s:%s' "$user" "$token" | base64 | tr -d '\n')"
if ! GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader GIT_CONFIG_VALUE_0="$auth" \
  safe_git push --quiet "$remote" "$incoming:refs/heads/$branch"; then
  if [[ -n "$workflows" ]]; then
    printf '::error::the release changes %s: the workflow token cannot push workflow files; give this job a GitHub App token with the workflows permission (docs/updates in the template)\n' "${workflows//$'\n'/, }" >&2
  fi
  fail "could not push $branch (does it exist already? then review and merge it, or delete it to redo the update)"
fi
echo "pushed $branch"

title="Template release ${branch#template-update/}"
response="$repository/response.json"
if [[ "${GITHUB_ACTIONS:-}" == true ]]; then
  jq --null-input --arg title "$title" --arg head "$branch" --arg base "$base" --rawfile body "$body" \
    --argjson draft "$([[ "$draft" == yes ]] && echo true || echo false)" \
    '{title: $title, head: $head, base: $base, body: $body, draft: $draft}' |
    curl --fail --silent --show-error --output "$response" --request POST --data @- \
      --header @<(printf 'Authorization: Bearer %s\n' "$token") --header "Accept: application/vnd.github+json" \
      "$api/repos/$GITHUB_REPOSITORY/pulls" ||
    fail "could not open the pull request for $branch (draft: $draft; the Free plan has no drafts in private repos)"
  number="$(jq -r '.number // empty' "$response" 2>/dev/null || true)"
  [[ "$number" =~ ^[1-9][0-9]*$ ]] || fail "the pull request for $branch is open, but the API gave no number to label"
  jq --null-input --arg labels "$labels" '{labels: ($labels | split(","))}' |
    curl --fail --silent --show-error --output /dev/null --request POST --data @- \
      --header @<(printf 'Authorization: Bearer %s\n' "$token") --header "Accept: application/vnd.github+json" \
      "$api/repos/$GITHUB_REPOSITORY/issues/$number/labels"
else
  if [[ "$draft" == yes ]]; then title="Draft: $title"; fi
  curl --fail --silent --show-error --output /dev/null --request POST \
    --header @<(printf 'PRIVATE-TOKEN: %s\n' "$token") \
    --data-urlencode "source_branch=$branch" --data-urlencode "target_branch=$base" \
    --data-urlencode "title=$title" --data-urlencode "description@$body" --data "remove_source_branch=true" \
    --data-urlencode "labels=$labels" \
    "$api/projects/$CI_PROJECT_ID/merge_requests"
fi
echo "opened the request for $branch into $base (draft: $draft, labels: $labels)"
